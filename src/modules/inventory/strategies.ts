// The three ways of taking stock inside the order's transaction. All of them lock rows in
// product-id order (lines come sorted from the guard), so [A,B] and [B,A] cannot deadlock, and
// all of them end in an UPDATE that the CHECK constraints fence.
import { Redlock } from '@sesamecare-oss/redlock'
import { db, pgOf, type Tx } from '../../infra/db'
import { logger } from '../../infra/logger'
import { counter } from '../../infra/metrics'
import { key, redis, redisUsable } from '../../infra/redis'
import { ContentionError, OutOfStockError, ProductInventoryNotFound } from './errors'
import type { StockLine } from './guard'
import { emitStockEvents, insertMovements, insertReservations, newReservations, reserveMovements, type StockRow } from './store'

export type ReserveInput = { orderId: string; expiresAt: Date; persist: (tx: Tx) => Promise<void> }

const optimisticRetries = counter('inventory_optimistic_retries_total', 'Optimistic version conflicts that were retried')
const lockFallbacks = counter('inventory_lock_fallbacks_total', 'Pessimistic reservations that ran on the Postgres lock alone', ['reason'])

const RETURNING = 'product_id as "productId", on_hand as "onHand", reserved, reorder_point as "reorderPoint"'

/** Reservation rows, ledger rows, low-stock events and the order's own rows, after the stock is taken. */
async function finish(tx: Tx, input: ReserveInput, lines: StockLine[], afters: StockRow[]): Promise<void> {
  const ptx = pgOf(tx)
  const rows = newReservations(input.orderId, lines, input.expiresAt)
  await insertReservations(ptx, rows)
  await insertMovements(ptx, reserveMovements(rows))
  for (const [i, after] of afters.entries()) await emitStockEvents(tx, after, -(lines[i] as StockLine).quantity, 'reserve')
  await input.persist(tx)
}

async function missingOrShort(tx: Tx, ids: string[]): Promise<never> {
  const ptx = pgOf(tx)
  const found = await ptx<{ id: string }[]>`select product_id as id from inventory where product_id in ${ptx(ids)}`
  const known = new Set(found.map((r) => r.id))
  const unknown = ids.find((id) => !known.has(id))
  if (unknown) throw new ProductInventoryNotFound(unknown)
  throw new OutOfStockError(ids)
}

/**
 * The conditional UPDATE (gated strategy's multi-line path and its Redis-less fallback): no lock
 * round trip, Postgres re-checks `on_hand − reserved ≥ q` on the row version it locks.
 */
export async function reserveConditional(input: ReserveInput, lines: StockLine[]): Promise<void> {
  await db.transaction(async (tx) => {
    const ptx = pgOf(tx)
    const afters: StockRow[] = []
    const short: string[] = []
    for (const l of lines) {
      const [after] = await ptx.unsafe<StockRow[]>(
        `update inventory set reserved = reserved + $1, version = version + 1, updated_at = now()
         where product_id = $2 and on_hand - reserved >= $1 returning ${RETURNING}`,
        [l.quantity, l.productId],
      )
      if (after) afters.push(after)
      else short.push(l.productId)
    }
    if (short.length) await missingOrShort(tx, short)
    await finish(tx, input, lines, afters)
  })
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
 * Seeds' design: a Redis lock per product (Redlock, sorted keys) to keep instances from piling on
 * the same rows, then SELECT … FOR UPDATE in product-id order. The Redis lock is an optimization;
 * if Redis is down or the lock can't be had, the Postgres row lock alone keeps it correct.
 */
export async function reservePessimistic(input: ReserveInput, lines: StockLine[]): Promise<void> {
  const ids = lines.map((l) => l.productId)
  const rl = redisUsable() ? locker() : null
  let lock: Awaited<ReturnType<Redlock['acquire']>> | null = null
  if (!rl) lockFallbacks.inc({ reason: 'redis_unavailable' })
  else {
    try {
      lock = await rl.acquire(
        ids.map((id) => key('lock', 'inventory', id)),
        10_000,
      )
    } catch (err) {
      lockFallbacks.inc({ reason: 'acquire_failed' })
      logger.debug({ err: (err as Error).message }, 'redlock acquire failed; using the Postgres lock alone')
    }
  }
  try {
    await db.transaction(async (tx) => {
      const ptx = pgOf(tx)
      const rows = await ptx<StockRow[]>`
        select product_id as "productId", on_hand as "onHand", reserved, reorder_point as "reorderPoint"
        from inventory where product_id in ${ptx(ids)} order by product_id for update`
      const byId = new Map(rows.map((r) => [r.productId, r]))
      const unknown = ids.find((id) => !byId.has(id))
      if (unknown) throw new ProductInventoryNotFound(unknown)
      const short = lines.filter((l) => {
        const r = byId.get(l.productId) as StockRow
        return r.onHand - r.reserved < l.quantity
      })
      if (short.length) throw new OutOfStockError(short.map((l) => l.productId))
      const afters: StockRow[] = []
      for (const l of lines) {
        const [after] = await ptx.unsafe<StockRow[]>(
          `update inventory set reserved = reserved + $1, version = version + 1, updated_at = now()
           where product_id = $2 returning ${RETURNING}`,
          [l.quantity, l.productId],
        )
        afters.push(after as StockRow)
      }
      await finish(tx, input, lines, afters)
    })
  } finally {
    await lock?.release().catch(() => {})
  }
}

const OPTIMISTIC_ATTEMPTS = 25
const BACKOFF_BASE_MS = 2
const BACKOFF_CAP_MS = 50

/**
 * Seeds' optimistic path: read (available, version), then UPDATE … WHERE version = $read. A lost
 * race re-reads and retries with full-jitter exponential backoff; a definite shortage is a 409
 * out_of_stock at once; exhausted retries are a 409 `contention` (retryable, not "sold out").
 */
export async function reserveOptimistic(input: ReserveInput, lines: StockLine[]): Promise<void> {
  await db.transaction(async (tx) => {
    const ptx = pgOf(tx)
    const afters: StockRow[] = []
    for (const l of lines) {
      let after: StockRow | undefined
      for (let attempt = 0; attempt < OPTIMISTIC_ATTEMPTS && !after; attempt++) {
        if (attempt > 0) {
          optimisticRetries.inc()
          await Bun.sleep(Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt))
        }
        const [row] = await ptx<{ onHand: number; reserved: number; version: number }[]>`
          select on_hand as "onHand", reserved, version from inventory where product_id = ${l.productId}`
        if (!row) throw new ProductInventoryNotFound(l.productId)
        if (row.onHand - row.reserved < l.quantity) throw new OutOfStockError([l.productId])
        ;[after] = await ptx.unsafe<StockRow[]>(
          `update inventory set reserved = reserved + $1, version = version + 1, updated_at = now()
           where product_id = $2 and version = $3 returning ${RETURNING}`,
          [l.quantity, l.productId, row.version],
        )
      }
      if (!after) throw new ContentionError([l.productId])
      afters.push(after)
    }
    await finish(tx, input, lines, afters)
  })
}
