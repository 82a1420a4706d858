// Authentication + RBAC as one named plugin. A route states who may call it in one word:
//   { auth: 'customer' }  any signed-in user     { auth: 'admin' }  admins only
// The macro verifies the bearer JWT (HS256 only: `none` and other algorithms are refused) and
// resolves `user` ({ id, role }); failures are 401 with WWW-Authenticate, wrong role is 403.
import { jwt } from '@elysiajs/jwt'
import { Elysia, t } from 'elysia'
import { config } from '../config'
import { ForbiddenError, UnauthorizedError } from '../lib/errors'

export const ROLES = ['customer', 'admin'] as const
export type Role = (typeof ROLES)[number]
export type AuthUser = { id: string; role: Role; jti: string }

export const accessJwt = jwt({
  name: 'accessJwt',
  secret: config.JWT_SECRET,
  alg: 'HS256',
  exp: `${config.ACCESS_TOKEN_TTL_SECONDS}s`,
  schema: t.Object({ sub: t.String(), role: t.Union([t.Literal('customer'), t.Literal('admin')]), jti: t.String() }),
})

/** An access token for a user: the one place its claims are written (a fresh `jti` each time). */
export const signAccessToken = (userId: string, role: Role): Promise<string> =>
  accessJwt.decorator.accessJwt.sign({ sub: userId, role, jti: Bun.randomUUIDv7() })

type Verifier = { verify: (token?: string, options?: { algorithms: string[] }) => Promise<false | Record<string, unknown>> }

/**
 * Tokens that verified, until they expire: verifying (HMAC via WebCrypto, JSON, claims) costs
 * ~90 µs, more than a whole cached product read; a flash-sale buyer sends the same token again and
 * again. Keyed by the exact token string, so only a byte-identical, already verified token hits;
 * an entry never outlives its token's `exp`. Bounded: the oldest entries go first.
 */
const verified = new Map<string, { user: AuthUser; expMs: number }>()
const VERIFIED_MAX = 20_000

/** Reads and verifies the bearer token; throws 401 on anything but a valid, unexpired HS256 JWT. */
export async function authenticate(verifier: Verifier, authorization: string | undefined): Promise<AuthUser> {
  if (!authorization) throw new UnauthorizedError('Missing Authorization: Bearer token')
  const [scheme, token] = authorization.split(' ')
  if (scheme?.toLowerCase() !== 'bearer' || !token) throw new UnauthorizedError('Authorization must be "Bearer <token>"')
  const hit = verified.get(token)
  if (hit) {
    if (hit.expMs > Date.now()) return hit.user
    verified.delete(token)
  }
  const payload = await verifier.verify(token, { algorithms: ['HS256'] }).catch(() => false as const)
  if (!payload || typeof payload.sub !== 'string' || !ROLES.includes(payload.role as Role)) {
    throw new UnauthorizedError('Access token is invalid or expired', 'invalid_token')
  }
  const user: AuthUser = { id: payload.sub, role: payload.role as Role, jti: String(payload.jti ?? '') }
  if (typeof payload.exp === 'number') {
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value as string)
    verified.set(token, { user, expMs: payload.exp * 1000 })
  }
  return user
}

export const authPlugin = new Elysia({ name: 'auth' }).use(accessJwt).macro({
  auth: (role: Role) => ({
    detail: { security: [{ bearerAuth: [] }] },
    // request.headers, not the `headers` context: asking for that makes Elysia copy every header.
    async resolve({ accessJwt, request }) {
      const user = await authenticate(accessJwt as unknown as Verifier, request.headers.get('authorization') ?? undefined)
      if (role === 'admin' && user.role !== 'admin') throw new ForbiddenError('Admin role required')
      return { user }
    },
  }),
})
