// The three ways of taking stock inside the caller's transaction (the seeds' pessimistic and
// optimistic paths, and the conditional UPDATE of the gated strategy). All of them lock rows in
// product-id order (lines come sorted from the guard), so [A,B] and [B,A] cannot deadlock, and
// all of them end in store.ts's reserve UPDATE, which the CHECK constraints fence.
import { Redlock } from '@sesamecare-oss/redlock'
import { ExponentialBackoff, fullJitterGenerator, handleType, retry } from 'cockatiel'
import { pgOf, type Tx } from '../../infra/db'
import { logger } from '../../infra/logger'
import { counter } from '../../infra/metrics'
import { key, redis, redisUsable } from '../../infra/redis'
import { ContentionError, OutOfStockError, ProductInventoryNotFound } from './errors'
import type { StockLine } from './guard'
import { recordReservation, type StockRow, updateReserved } from './store'

/** What one order reserves: its lines (guarded, sorted), for how long. */
export type Reservation = { orderId: string; lines: StockLine[]; expiresAt: Date }

const optimisticRetries = counter('inventory_optimistic_retries_total', 'Optimistic version conflicts that were retried')
const lockFallbacks = counter('inventory_lock_fallbacks_total', 'Pessimistic reservations that ran on the Postgres lock alone', ['reason'])

/** Names the real problem of lines the conditional UPDATE refused: an unknown product (404) or too little stock (409). */
export async function missingOrShort(tx: Tx, ids: string[]): Promise<never> {
  const ptx = pgOf(tx)
  const found = await ptx<{ id: string }[]>`select product_id as id from inventory where product_id in ${ptx(ids)}`
  const known = new Set(found.map((r) => r.id))
  const unknown = ids.find((id) => !known.has(id))
  if (unknown) throw new ProductInventoryNotFound(unknown)
  throw new OutOfStockError(ids)
}

/**
 * The conditional UPDATE (gated strategy's multi-line path, a group commit's one-by-one round and
 * the Redis-less fallback): no lock round trip, Postgres re-checks `on_hand − reserved ≥ q` on the
 * row version it locks.
 */
export async function reserveConditional(tx: Tx, r: Reservation): Promise<void> {
  const ptx = pgOf(tx)
  const afters: StockRow[] = []
  const short: string[] = []
  for (const l of r.lines) {
    const after = await updateReserved(ptx, l.productId, l.quantity, 'available')
    if (after) afters.push(after)
    else short.push(l.productId)
  }
  if (short.length) await missingOrShort(tx, short)
  await recordReservation(tx, r.orderId, r.lines, r.expiresAt, afters)
}

let redlock: Redlock | null = null
function locker(): Redlock | null {
  const r = redis()
  if (!r) return null
  // Many buyers queue on one hot product: retry often and for a while (≈10 s) rather than fail.
  redlock ??= new Redlock([r], { retryCount: 400, retryDelay: 15, retryJitter: 20, automaticExtensionThreshold: 200 })
  return redlock
}

/**
 * Seeds' design, step one (before the transaction, so waiters hold no connection): a Redis lock
 * per product (Redlock, sorted keys) keeps instances from piling on the same rows. An
 * optimization: if Redis is down or the lock can't be had, the Postgres row lock alone keeps it
 * correct. Returns the unlock.
 */
export async function lockProducts(ids: string[]): Promise<() => Promise<void>> {
  const rl = redisUsable() ? locker() : null
  if (!rl) {
    lockFallbacks.inc({ reason: 'redis_unavailable' })
    return async () => {}
  }
  try {
    const lock = await rl.acquire(
      ids.map((id) => key('lock', 'inventory', id)),
      10_000,
    )
    return () =>
      lock.release().then(
        () => {},
        () => {},
      )
  } catch (err) {
    lockFallbacks.inc({ reason: 'acquire_failed' })
    logger.debug({ err: (err as Error).message }, 'redlock acquire failed; using the Postgres lock alone')
    return async () => {}
  }
}

/** Seeds' design, step two: SELECT … FOR UPDATE in product-id order, check, then the UPDATEs. */
export async function reservePessimistic(tx: Tx, r: Reservation): Promise<void> {
  const ptx = pgOf(tx)
  const ids = r.lines.map((l) => l.productId)
  const rows = await ptx<StockRow[]>`
    select product_id as "productId", on_hand as "onHand", reserved, reorder_point as "reorderPoint", replan_level as "replanLevel"
    from inventory where product_id in ${ptx(ids)} order by product_id for update`
  const byId = new Map(rows.map((row) => [row.productId, row]))
  const unknown = ids.find((id) => !byId.has(id))
  if (unknown) throw new ProductInventoryNotFound(unknown)
  const short = r.lines.filter((l) => {
    const row = byId.get(l.productId) as StockRow
    return row.onHand - row.reserved < l.quantity
  })
  if (short.length) throw new OutOfStockError(short.map((l) => l.productId))
  const afters: StockRow[] = []
  for (const l of r.lines) afters.push((await updateReserved(ptx, l.productId, l.quantity, 'locked')) as StockRow)
  await recordReservation(tx, r.orderId, r.lines, r.expiresAt, afters)
}

/** A lost version race: the row changed between the read and the UPDATE. */
class VersionRace extends Error {}

// 25 attempts in all; full-jitter exponential backoff from 4 ms (2 ms × 2) capped at 50 ms.
const optimisticRetry = retry(handleType(VersionRace), {
  maxAttempts: 24,
  backoff: new ExponentialBackoff({ generator: fullJitterGenerator, initialDelay: 4, maxDelay: 50 }),
})
optimisticRetry.onRetry(() => optimisticRetries.inc())

/**
 * Seeds' optimistic path: read (available, version), then UPDATE … WHERE version = $read. A lost
 * race re-reads and retries with full-jitter exponential backoff; a definite shortage is a 409
 * out_of_stock at once; exhausted retries are a 409 `contention` (retryable, not "sold out").
 */
export async function reserveOptimistic(tx: Tx, r: Reservation): Promise<void> {
  const ptx = pgOf(tx)
  const afters: StockRow[] = []
  for (const l of r.lines) {
    const after = await optimisticRetry
      .execute(async () => {
        const [row] = await ptx<{ onHand: number; reserved: number; version: number }[]>`
          select on_hand as "onHand", reserved, version from inventory where product_id = ${l.productId}`
        if (!row) throw new ProductInventoryNotFound(l.productId)
        if (row.onHand - row.reserved < l.quantity) throw new OutOfStockError([l.productId])
        const updated = await updateReserved(ptx, l.productId, l.quantity, row.version)
        if (!updated) throw new VersionRace()
        return updated
      })
      .catch((err) => {
        throw err instanceof VersionRace ? new ContentionError([l.productId]) : err
      })
    afters.push(after)
  }
  await recordReservation(tx, r.orderId, r.lines, r.expiresAt, afters)
}
