// Identity rules: password policy and Argon2id hashing, login, and refresh-token rotation with
// reuse detection (the family primitives are in token-families.ts). No Elysia here: the
// controller signs access tokens and maps errors.
import { and, eq, gt, isNull, lt, or, sql } from 'drizzle-orm'
import { passwordResets, refreshTokens, users } from '../../../db/schema'
import { config } from '../../config'
import { db } from '../../infra/db'
import { logger } from '../../infra/logger'
import { audit } from '../../lib/audit'
import { ConflictError, UnauthorizedError, ValidationProblem } from '../../lib/errors'
import { isUniqueViolation } from '../../lib/pg-errors'
import { type LoginBody, PASSWORD_MAX, PASSWORD_MIN, type PublicUser, type RegisterBody } from './model'
import { expiry, lockFamily, revokeFamily, sha256, startFamily } from './token-families'
import { forgetTokenState } from './token-state'

export type RequestMeta = { ip: string; requestId: string }
/** `tokenVersion`: what the access token issued with this refresh token must carry. */
export type Issued = { user: PublicUser; refreshToken: string; tokenVersion: number }
type UserRow = typeof users.$inferSelect

const ARGON2 = { algorithm: 'argon2id' as const, memoryCost: config.ARGON2_MEMORY_COST, timeCost: config.ARGON2_TIME_COST }

export const toPublicUser = (u: UserRow): PublicUser => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
  createdAt: u.createdAt.toISOString(),
})

export const normalizeEmail = (raw: string): string => raw.trim().toLowerCase()

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** The password policy, one rule per message so the client can tell the user what to fix. */
export function checkPasswordPolicy(password: string, field = 'password'): void {
  if (password.length < PASSWORD_MIN) throw ValidationProblem.field(field, `must be at least ${PASSWORD_MIN} characters (min_length)`)
  // The cap keeps a single request from buying seconds of hashing with a megabyte "password".
  if (password.length > PASSWORD_MAX) throw ValidationProblem.field(field, `must be at most ${PASSWORD_MAX} characters (max_length)`)
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((re) => re.test(password)).length
  if (classes < 2) {
    throw ValidationProblem.field(field, 'must mix at least two of: lower case, upper case, digits, other characters (character_classes)')
  }
}

export const hashPassword = (password: string): Promise<string> => Bun.password.hash(password, ARGON2)

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  // A malformed stored hash (e.g. a non-login account) is a failed login, not a 500.
  return Bun.password.verify(password, hash).catch(() => false)
}

// Unknown emails are verified against this hash so both failure paths cost one Argon2 verify.
let dummy: Promise<string> | null = null
export const dummyHash = () => {
  dummy ??= hashPassword(`dummy-${crypto.randomUUID()}`)
  return dummy
}

/** True when a stored hash was made with other parameters than the configured ones. */
const needsRehash = (hash: string): boolean =>
  !hash.startsWith('$argon2id$') || !hash.includes(`$m=${ARGON2.memoryCost},t=${ARGON2.timeCost},`)

export { audit } from '../../lib/audit'

// --- use cases ----------------------------------------------------------------------------------

export async function register(input: RegisterBody, meta: RequestMeta): Promise<Issued> {
  const email = normalizeEmail(input.email)
  if (!EMAIL.test(email)) throw ValidationProblem.field('email', 'must be an email address like name@example.com')
  const name = input.name.trim()
  if (!name) throw ValidationProblem.field('name', 'must not be blank')
  checkPasswordPolicy(input.password)
  const passwordHash = await hashPassword(input.password)
  return db.transaction(async (tx) => {
    // The unique index decides duplicates: a check-then-insert would race.
    const [user] = await tx
      .insert(users)
      .values({ email, name, passwordHash })
      .returning()
      .catch((e) => {
        if (isUniqueViolation(e)) throw new ConflictError('An account with this email already exists', 'email_taken')
        throw e
      })
    if (!user) throw new Error('user insert returned nothing')
    const refreshToken = await startFamily(tx, user.id)
    await audit(tx, 'register', user.id, meta)
    return { user: toPublicUser(user), refreshToken, tokenVersion: user.tokenVersion }
  })
}

export async function login(input: LoginBody, meta: RequestMeta): Promise<Issued> {
  const email = normalizeEmail(input.email)
  const [user] = await db.select().from(users).where(eq(users.email, email))
  const ok = await verifyPassword(input.password, user?.passwordHash ?? (await dummyHash()))
  if (!user || !ok) {
    await audit(db, 'login_failure', user?.id ?? null, meta, { email, reason: user ? 'bad_password' : 'unknown_email' })
    throw new UnauthorizedError('Email or password is incorrect', 'invalid_credentials')
  }
  if (needsRehash(user.passwordHash)) {
    const passwordHash = await hashPassword(input.password)
    await db.update(users).set({ passwordHash, updatedAt: sql`now()` }).where(eq(users.id, user.id))
  }
  return db.transaction(async (tx) => {
    const refreshToken = await startFamily(tx, user.id)
    await audit(tx, 'login_success', user.id, meta)
    return { user: toPublicUser(user), refreshToken, tokenVersion: user.tokenVersion }
  })
}

/**
 * The successor of a refresh token is derived from it (HMAC under a server key), not drawn at
 * random: a second exchange of the same token within the grace window can then be answered with
 * the very successor the first one got, which only the server can compute and only a holder of
 * the old token can ask for.
 */
/** A second exchange this soon after a rotation is a double submit (two tabs, a retry after a lost
 *  answer), not a theft — while the successor is still unused. */
export const REFRESH_REUSE_GRACE_SECONDS = 10

const successorOf = (token: string): string =>
  new Bun.CryptoHasher('sha256', `refresh-successor\u0000${config.JWT_SECRET}`).update(token).digest('base64url')

/**
 * Exchanges a refresh token for a new one in the same family. Exactly one of several concurrent
 * exchanges of the same token wins: the conditional UPDATE is the fence. A client that sends the
 * same token twice at once (two tabs, a retry after a lost answer) within REFRESH_REUSE_GRACE_SECONDS
 * of the rotation, while the successor is still unused, gets that same successor again. Any
 * other presentation of a rotated token is treated as theft: the whole family is revoked.
 */
export async function refresh(token: string, meta: RequestMeta): Promise<Issued> {
  const hash = sha256(token)
  const [row] = await db.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hash))
  if (!row) throw new UnauthorizedError('Refresh token is invalid', 'invalid_refresh_token')
  const next = successorOf(token)
  const nextId = Bun.randomUUIDv7()
  const user = await db.transaction(async (tx) => {
    await lockFamily(tx, row.familyId)
    const [claimed] = await tx
      .update(refreshTokens)
      .set({ replacedBy: nextId })
      .where(
        and(
          eq(refreshTokens.id, row.id),
          isNull(refreshTokens.revokedAt),
          isNull(refreshTokens.replacedBy),
          gt(refreshTokens.expiresAt, sql`now()`),
        ),
      )
      .returning()
    if (!claimed) return null
    const [u] = await tx.select().from(users).where(eq(users.id, claimed.userId))
    if (!u) return null
    await tx.insert(refreshTokens).values({
      id: nextId,
      tokenHash: sha256(next),
      familyId: claimed.familyId,
      userId: claimed.userId,
      parentId: claimed.id,
      expiresAt: expiry(),
    })
    return u
  })
  if (user) return { user: toPublicUser(user), refreshToken: next, tokenVersion: user.tokenVersion }

  // Lost: find out why (the row as committed now, not as first read).
  const [now] = await db.select().from(refreshTokens).where(eq(refreshTokens.id, row.id))
  if (now?.replacedBy && !now.revokedAt) {
    const again = await sameSuccessor(now.replacedBy, next)
    if (again) return { user: toPublicUser(again), refreshToken: next, tokenVersion: again.tokenVersion }
    const revoked = await revokeFamily(now.familyId, now.userId)
    logger.warn({ userId: now.userId, familyId: now.familyId, revoked, requestId: meta.requestId }, 'refresh token reuse detected')
    await audit(db, 'refresh_reuse_detected', now.userId, meta, { familyId: now.familyId, tokenId: now.id, revoked })
    throw new UnauthorizedError('Refresh token was already used; all sessions of this login were revoked', 'refresh_token_reused')
  }
  if (now?.revokedAt) throw new UnauthorizedError('Refresh token was revoked', 'refresh_token_revoked')
  throw new UnauthorizedError('Refresh token expired', 'refresh_token_expired')
}

/** The user, when successor `id` (whose token is `next`) was minted within the grace window and
 *  is still unused and unrevoked; null otherwise (reuse). */
async function sameSuccessor(id: string, next: string): Promise<UserRow | null> {
  const [s] = await db
    .select({ userId: refreshTokens.userId })
    .from(refreshTokens)
    .where(
      and(
        eq(refreshTokens.id, id),
        eq(refreshTokens.tokenHash, sha256(next)),
        isNull(refreshTokens.replacedBy),
        isNull(refreshTokens.revokedAt),
        gt(refreshTokens.createdAt, sql`now() - make_interval(secs => ${REFRESH_REUSE_GRACE_SECONDS})`),
      ),
    )
  if (!s) return null
  const [u] = await db.select().from(users).where(eq(users.id, s.userId))
  return u ?? null
}

/** Revokes the family of `token` and the user's access tokens. Unknown tokens are ignored:
 *  logout is idempotent. */
export async function logout(token: string, meta: RequestMeta): Promise<void> {
  const [row] = await db
    .select({ familyId: refreshTokens.familyId, userId: refreshTokens.userId })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, sha256(token)))
  if (!row) return
  const revoked = await revokeFamily(row.familyId, row.userId)
  if (revoked > 0) await audit(db, 'logout', row.userId, meta, { familyId: row.familyId })
}

/**
 * Deletes refresh tokens that expired or were revoked more than `graceSeconds` ago; returns how
 * many. Until then they are kept so a replayed token is still recognised as reuse. Meant for a
 * periodic job (not scheduled by this module).
 */
export async function pruneRefreshTokens(graceSeconds = 86400): Promise<number> {
  const cutoff = sql`now() - make_interval(secs => ${graceSeconds})`
  const rows = await db
    .delete(refreshTokens)
    .where(or(lt(refreshTokens.expiresAt, cutoff), lt(refreshTokens.revokedAt, cutoff)))
    .returning({ id: refreshTokens.id })
  // Password reset tokens are kept no longer than refresh tokens (they are not counted).
  await db.delete(passwordResets).where(lt(passwordResets.expiresAt, cutoff))
  return rows.length
}

export async function currentUser(id: string): Promise<PublicUser> {
  const [u] = await db.select().from(users).where(eq(users.id, id))
  if (!u) throw new UnauthorizedError('The account of this token no longer exists', 'invalid_token')
  return toPublicUser(u)
}

/**
 * Creates or updates the configured admin (ADMIN_EMAIL / ADMIN_PASSWORD) at boot. One upsert, so
 * several instances booting at once converge on one row.
 */
export async function ensureAdmin(): Promise<void> {
  if (!config.ADMIN_EMAIL || !config.ADMIN_PASSWORD) return
  const email = normalizeEmail(config.ADMIN_EMAIL)
  const [existing] = await db.select().from(users).where(eq(users.email, email))
  if (
    existing?.role === 'admin' &&
    (await verifyPassword(config.ADMIN_PASSWORD, existing.passwordHash)) &&
    !needsRehash(existing.passwordHash)
  ) {
    return
  }
  const passwordHash = await hashPassword(config.ADMIN_PASSWORD)
  const [admin] = await db
    .insert(users)
    .values({ email, name: 'Administrator', passwordHash, role: 'admin' })
    .onConflictDoUpdate({
      target: users.email,
      // A new password or role: the old tokens of this account stop working.
      set: { role: 'admin', passwordHash, tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: sql`now()` },
    })
    .returning({ id: users.id })
  if (admin && existing) await forgetTokenState(admin.id)
  await audit(db, 'admin_ensured', admin?.id ?? null, null, { email, created: !existing })
  logger.info({ email }, existing ? 'admin account updated' : 'admin account created')
}
