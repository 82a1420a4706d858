// Refresh-token families: a login is a family of refresh tokens, one live at a time (rotation);
// these are its primitives (mint, lock, revoke), used by the use cases in service.ts and password.ts.
import { and, eq, isNull, sql } from 'drizzle-orm'
import { refreshTokens } from '../../../db/schema'
import { config } from '../../config'
import { type DbOrTx, db } from '../../infra/db'
import { bumpTokenVersion, forgetTokenState } from './token-state'

// A token is 32 random bytes (base64url); only its SHA-256 is stored. That is enough for a
// high-entropy secret (no dictionary to attack) and lets lookups use a unique index.

export const newOpaqueToken = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
export const sha256 = (s: string): string => new Bun.CryptoHasher('sha256').update(s).digest('hex')
export const expiry = () => new Date(Date.now() + config.REFRESH_TOKEN_TTL_SECONDS * 1000)

/** Rotation and family revocation serialize per family, so no token can be minted into a family
 *  after (or while) it is revoked: READ COMMITTED alone would let a concurrent rotation's new row
 *  escape the revoking UPDATE's snapshot. */
export const lockFamily = (q: DbOrTx, familyId: string) => q.execute(sql`select pg_advisory_xact_lock(hashtextextended(${familyId}, 0))`)

export async function startFamily(q: DbOrTx, userId: string): Promise<string> {
  const token = newOpaqueToken()
  await q.insert(refreshTokens).values({ tokenHash: sha256(token), familyId: Bun.randomUUIDv7(), userId, expiresAt: expiry() })
  return token
}

/** Revokes a login: its refresh tokens, and (token version) every access token of its user. */
export async function revokeFamily(familyId: string, userId: string): Promise<number> {
  const revoked = await db.transaction(async (tx) => {
    await lockFamily(tx, familyId)
    const rows = await tx
      .update(refreshTokens)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(refreshTokens.familyId, familyId), isNull(refreshTokens.revokedAt)))
      .returning({ id: refreshTokens.id })
    await bumpTokenVersion(tx, userId)
    return rows.length
  })
  await forgetTokenState(userId)
  return revoked
}

/** Every refresh token of the user (all logins), inside the caller's transaction. Each live family
 *  is locked first (in id order; a rotation holds only its own), so no rotation can slip a
 *  successor past the UPDATE. The caller also bumps the token version. */
export async function revokeAllRefreshTokens(q: DbOrTx, userId: string): Promise<number> {
  const families = await q
    .selectDistinct({ familyId: refreshTokens.familyId })
    .from(refreshTokens)
    .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))
    .orderBy(refreshTokens.familyId)
  for (const f of families) await lockFamily(q, f.familyId)
  const rows = await q
    .update(refreshTokens)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))
    .returning({ id: refreshTokens.id })
  return rows.length
}
