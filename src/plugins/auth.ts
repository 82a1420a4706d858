// Authentication + RBAC as one named plugin. A route states who may call it in one word:
//   { auth: 'customer' }  any signed-in user     { auth: 'admin' }  admins only
// The macro verifies the bearer JWT (HS256 only: `none` and other algorithms are refused; `exp`,
// a uuid `sub` and `ver` are required) and checks `ver` against the user's current token version
// (src/modules/auth/token-state.ts), so a role change, logout, revoked login, password change or
// deleted account takes effect on the next request. Failures are 401 with WWW-Authenticate,
// wrong role is 403 — both before the body and query are validated (see the macro).
import { jwt } from '@elysiajs/jwt'
import { Elysia, t } from 'elysia'
import { LRUCache } from 'lru-cache'
import { config } from '../config'
import { ForbiddenError, UnauthorizedError } from '../lib/errors'
import { isUuid } from '../lib/uuid'
import { cachedTokenState, tokenState } from '../modules/auth/token-state'

export const ROLES = ['customer', 'admin'] as const
export type Role = (typeof ROLES)[number]
export type AuthUser = { id: string; role: Role; jti: string }
type Claims = AuthUser & { ver: number }

export const accessJwt = jwt({
  name: 'accessJwt',
  secret: config.JWT_SECRET,
  alg: 'HS256',
  exp: `${config.ACCESS_TOKEN_TTL_SECONDS}s`,
  schema: t.Object({
    sub: t.String(),
    role: t.Union([t.Literal('customer'), t.Literal('admin')]),
    jti: t.String(),
    ver: t.Integer({ minimum: 0 }),
  }),
})

/** An access token for a user at token version `ver`: the one place its claims are written. */
export const signAccessToken = (userId: string, role: Role, ver: number): Promise<string> =>
  accessJwt.decorator.accessJwt.sign({ sub: userId, role, jti: Bun.randomUUIDv7(), ver })

type Verifier = { verify: (token?: string, options?: { algorithms: string[] }) => Promise<false | Record<string, unknown>> }
const verifier = accessJwt.decorator.accessJwt as unknown as Verifier

/**
 * Tokens that verified, until they expire: verifying (HMAC via WebCrypto, JSON, claims) costs
 * ~90 µs, more than a whole cached product read; a flash-sale buyer sends the same token again and
 * again. Keyed by the exact token string, so only a byte-identical, already verified token hits;
 * an entry never outlives its token's `exp` (its TTL). Bounded: the least recently used go first.
 * Revocation is not decided here but by the token version, checked on every request.
 */
const verified = new LRUCache<string, Claims>({ max: 20_000, ttlAutopurge: false })

const invalid = () => new UnauthorizedError('Access token is invalid or expired', 'invalid_token')

/** Signature and claims only (no revocation check): what the rate limiter keys on. */
export async function verifyAccessToken(authorization: string | undefined): Promise<Claims> {
  if (!authorization) throw new UnauthorizedError('Missing Authorization: Bearer token')
  const [scheme, token] = authorization.split(' ')
  if (scheme?.toLowerCase() !== 'bearer' || !token) throw new UnauthorizedError('Authorization must be "Bearer <token>"')
  const hit = verified.get(token)
  if (hit) return hit
  const payload = await verifier.verify(token, { algorithms: ['HS256'] }).catch(() => false as const)
  // A token without `exp` would never expire; a `sub` that is not a uuid names no user.
  if (!payload || typeof payload.exp !== 'number' || !isUuid(payload.sub) || !ROLES.includes(payload.role as Role)) throw invalid()
  const claims: Claims = {
    id: payload.sub.toLowerCase(),
    role: payload.role as Role,
    jti: String(payload.jti ?? ''),
    ver: payload.ver as number,
  }
  const ttl = payload.exp * 1000 - Date.now()
  if (ttl > 0) verified.set(token, claims, { ttl })
  return claims
}

/** Verifies the bearer token and that it was not revoked; throws 401 otherwise. The role is the
 *  user's current one (equal to the token's while the version matches). */
export async function authenticate(authorization: string | undefined): Promise<AuthUser> {
  const claims = await verifyAccessToken(authorization)
  const state = cachedTokenState(claims.id) ?? (await tokenState(claims.id))
  if (!state) throw new UnauthorizedError('The account of this token no longer exists', 'invalid_token')
  if (state.ver !== claims.ver) throw new UnauthorizedError('Access token was revoked; refresh or sign in again', 'token_revoked')
  return { id: claims.id, role: state.role, jti: claims.jti }
}

const AUTH_USER = Symbol('authUser')
type WithUser = { [AUTH_USER]?: AuthUser }

export const authPlugin = new Elysia({ name: 'auth' }).use(accessJwt).macro({
  auth: (role: Role) => ({
    detail: { security: [{ bearerAuth: [] }] },
    // `transform`, not `resolve`: Elysia validates the body, query and params between the two, so
    // checking here tells an anonymous caller 401 (a customer on an admin route 403) before any
    // field-level 422 describes a secured operation. (Body parsing comes earlier still: malformed
    // JSON is a 400 first.) request.headers, not the `headers` context: that copies every header.
    // Vary: an answer for (or refusal of) the caller depends on Authorization (RFC 9110 §12.5.5),
    // added to CORS's Origin; set before authenticating so that the 401/403 carry it too.
    async transform(ctx) {
      const headers = ctx.set.headers
      const vary = headers.vary
      if (typeof vary !== 'string' || !vary.includes('Authorization')) headers.vary = vary ? `${vary}, Authorization` : 'Authorization'
      const user = await authenticate(ctx.request.headers.get('authorization') ?? undefined)
      if (role === 'admin' && user.role !== 'admin') throw new ForbiddenError('Admin role required')
      ;(ctx as WithUser)[AUTH_USER] = user
    },
    resolve(ctx) {
      const user = (ctx as WithUser)[AUTH_USER]
      if (!user) throw new UnauthorizedError()
      return { user }
    },
  }),
})
