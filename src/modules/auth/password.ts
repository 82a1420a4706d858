// Password change (signed in) and reset (by email). Both end every other login: the refresh
// tokens are revoked and the token version is bumped, so every access token stops working on its
// next request. A change hands the caller a fresh login; a reset leaves the user to sign in.
import { and, eq, gt, isNull, sql } from 'drizzle-orm'
import { passwordResets, users } from '../../../db/schema'
import { db } from '../../infra/db'
import { logger } from '../../infra/logger'
import { ValidationProblem } from '../../lib/errors'
import { sendPasswordResetEmail } from '../mail/account'
import {
  audit,
  checkPasswordPolicy,
  dummyHash,
  hashPassword,
  type Issued,
  normalizeEmail,
  type RequestMeta,
  toPublicUser,
  verifyPassword,
} from './service'
import { newOpaqueToken, revokeAllRefreshTokens, sha256, startFamily } from './token-families'
import { bumpTokenVersion, forgetTokenState } from './token-state'

/** Long enough to find the email, short enough that a forgotten one in an inbox is soon useless. */
export const PASSWORD_RESET_TTL_SECONDS = 30 * 60

export async function changePassword(
  userId: string,
  input: { currentPassword: string; newPassword: string },
  meta: RequestMeta,
): Promise<Issued> {
  const [user] = await db.select().from(users).where(eq(users.id, userId))
  if (!(await verifyPassword(input.currentPassword, user?.passwordHash ?? (await dummyHash()))) || !user) {
    throw ValidationProblem.field('currentPassword', 'is not the current password')
  }
  checkPasswordPolicy(input.newPassword, 'newPassword')
  if (input.newPassword === input.currentPassword) throw ValidationProblem.field('newPassword', 'must differ from the current password')
  const passwordHash = await hashPassword(input.newPassword)
  const issued = await db.transaction(async (tx) => {
    await tx.update(users).set({ passwordHash, updatedAt: sql`now()` }).where(eq(users.id, userId))
    const revoked = await revokeAllRefreshTokens(tx, userId)
    const ver = (await bumpTokenVersion(tx, userId)) ?? 0
    const refreshToken = await startFamily(tx, userId)
    await audit(tx, 'password_change', userId, meta, { revokedRefreshTokens: revoked })
    return { user: toPublicUser(user), refreshToken, tokenVersion: ver }
  })
  await forgetTokenState(userId)
  return issued
}

/**
 * Sends a reset token to `email` if it belongs to an account. The controller does not wait for
 * this (it answers 202 at once), so the answer's content and timing are the same for every email.
 * A new request supersedes the user's earlier unused tokens.
 */
export async function requestPasswordReset(rawEmail: string, meta: RequestMeta): Promise<void> {
  const email = normalizeEmail(rawEmail)
  const [user] = await db.select({ id: users.id, email: users.email, name: users.name }).from(users).where(eq(users.email, email))
  if (!user) return
  const token = newOpaqueToken()
  await db.transaction(async (tx) => {
    await tx
      .update(passwordResets)
      .set({ usedAt: sql`now()` })
      .where(and(eq(passwordResets.userId, user.id), isNull(passwordResets.usedAt)))
    await tx.insert(passwordResets).values({
      tokenHash: sha256(token),
      userId: user.id,
      expiresAt: sql`now() + make_interval(secs => ${PASSWORD_RESET_TTL_SECONDS})`,
    })
    await audit(tx, 'password_reset_request', user.id, meta)
  })
  await sendPasswordResetEmail(user, token, Math.round(PASSWORD_RESET_TTL_SECONDS / 60))
}

/** Runs requestPasswordReset after the answer; failures are logged, never surfaced to the caller. */
export function requestPasswordResetInBackground(email: string, meta: RequestMeta): void {
  requestPasswordReset(email, meta).catch((err) => logger.error({ err, requestId: meta.requestId }, 'password reset request failed'))
}

/** Sets a new password with an emailed token: single use (the conditional UPDATE is the fence). */
export async function confirmPasswordReset(input: { token: string; newPassword: string }, meta: RequestMeta): Promise<void> {
  // The policy first: a rejected password must not use up the token.
  checkPasswordPolicy(input.newPassword, 'newPassword')
  const passwordHash = await hashPassword(input.newPassword)
  const userId = await db.transaction(async (tx) => {
    const [claimed] = await tx
      .update(passwordResets)
      .set({ usedAt: sql`now()` })
      .where(
        and(eq(passwordResets.tokenHash, sha256(input.token)), isNull(passwordResets.usedAt), gt(passwordResets.expiresAt, sql`now()`)),
      )
      .returning({ userId: passwordResets.userId })
    if (!claimed) return null
    await tx.update(users).set({ passwordHash, updatedAt: sql`now()` }).where(eq(users.id, claimed.userId))
    const revoked = await revokeAllRefreshTokens(tx, claimed.userId)
    await bumpTokenVersion(tx, claimed.userId)
    await audit(tx, 'password_reset', claimed.userId, meta, { revokedRefreshTokens: revoked })
    return claimed.userId
  })
  if (!userId) throw ValidationProblem.field('token', 'is invalid, expired or already used; request a new one')
  await forgetTokenState(userId)
}
