// Revocation of access tokens: every access token carries `ver`, its user's token_version when it
// was signed. Bumping the column (role change, logout, a revoked login, password change or reset)
// makes every older token fail on its next request; a deleted user has no version at all.
// Read on every authenticated request, so it is cached in three layers: the process (a Map hit;
// invalidations reach every instance before the write returns, src/infra/cache-bus.ts), Redis, and
// Postgres, the truth, read directly while Redis is down (the in-process layer is then off too).
import { eq, sql } from 'drizzle-orm'
import { users } from '../../../db/schema'
import { type DbOrTx, db } from '../../infra/db'
import { key, withRedis } from '../../infra/redis'
import { CacheAside } from '../../lib/cache-aside'

export type TokenState = { ver: number; role: 'customer' | 'admin' }

/**
 * TTLs bound how long a change made outside this code (SQL by hand) or an invalidation lost to a
 * Redis outage can go unseen: 60 s in Redis, 30 s in a process. Every write path here invalidates.
 */
export const tokenStateCache = new CacheAside<TokenState>({
  name: 'token-state',
  ttlSeconds: 60,
  negativeTtlSeconds: 60,
  near: { maxEntries: 100_000, ttlMs: 30_000 },
})

const stateKey = (userId: string): string => key('auth', 'tv', userId)

const loadState = db
  .select({ ver: users.tokenVersion, role: users.role })
  .from(users)
  .where(eq(users.id, sql.placeholder('id')))
  .prepare('token_state')

/** The user's current token version and role; null when the user does not exist. */
export function tokenState(userId: string): Promise<TokenState | null> {
  return tokenStateCache.get(stateKey(userId), async () => (await loadState.execute({ id: userId }))[0] ?? null)
}

/** The state if this process holds it (the L1), without waiting: the common case of every request. */
export const cachedTokenState = (userId: string): TokenState | undefined => tokenStateCache.peek(stateKey(userId))

/** Revokes every access token of the user; inside the transaction of the change. Call
 *  forgetTokenState(userId) once it commits. Returns the new version (null: no such user). */
export async function bumpTokenVersion(q: DbOrTx, userId: string): Promise<number | null> {
  const [row] = await q
    .update(users)
    .set({ tokenVersion: sql`${users.tokenVersion} + 1`, updatedAt: sql`now()` })
    .where(eq(users.id, userId))
    .returning({ ver: users.tokenVersion })
  return row?.ver ?? null
}

/** Drops the cached state everywhere (every instance acknowledges) after a committed change. */
export const forgetTokenState = (userId: string): Promise<void> => tokenStateCache.invalidate(stateKey(userId))

/**
 * Makes a user that exists only inside this process's warm-up (src/tuning/warmup.ts) pass the check for
 * `ttlMs`, through the same layers a real buyer's token takes (Redis, then the in-process hit).
 * Without Redis it does nothing: the warm-up then stops at its first 401 (serving anyway).
 */
export async function warmTokenState(userId: string, ttlMs: number): Promise<void> {
  const state: TokenState = { ver: 0, role: 'customer' }
  await withRedis(
    (r) => r.set(stateKey(userId), JSON.stringify(state), 'PX', ttlMs),
    () => null,
  )
}
