// Group commit for single-line reservations of a hot product (the gated strategy's DB step).
// Requests for one product that arrive while a batch is being written are collected (≤ WINDOW_MS
// or MAX_BATCH) and written in ONE transaction: the order rows of all N requests (persist(tx),
// pipelined on one connection), then one multi-row reservation insert, ONE conditional inventory
// UPDATE for the summed quantity and one ledger insert (sent together: one round trip), one
// COMMIT (one WAL flush for N orders). The inventory row is updated after the order rows, so its
// row lock is held only for the UPDATE, the ledger insert and the COMMIT.
// One failing order never sinks the others: the batch is redone with a SAVEPOINT per request.
// If the summed UPDATE finds too little stock, it is redone one request at a time. The happy path
// does not read the stock first (the gate already vouched for it): for 30 s after a product came
// up short, and after any unexpected error, its batches check the stock before writing anything.
import { db, pgOf, type Tx } from '../../infra/db'
import { counter, histogram } from '../../infra/metrics'
import { invalidateProduct } from '../catalog/cache'
import { OutOfStockError, ProductInventoryNotFound } from './errors'
import {
  emitStockEvents,
  insertMovements,
  insertReservations,
  type NewReservation,
  newReservations,
  reserveMovements,
  type StockRow,
} from './store'

const WINDOW_MS = 1
const MAX_BATCH = 64
/** Batches of one product in flight per process: they only contend at the final UPDATE. */
const MAX_INFLIGHT = 4

export type BatchItem = {
  orderId: string
  productId: string
  quantity: number
  expiresAt: Date
  persist: (tx: Tx) => Promise<void>
  resolve: () => void
  reject: (err: unknown) => void
}

const batchSize = histogram('inventory_batch_size', 'Reservations written per group-commit transaction', [], [1, 2, 4, 8, 16, 32, 64])
const batchFallbacks = counter('inventory_batch_fallbacks_total', 'Batches whose summed UPDATE failed and were redone one by one')

class Batcher {
  private queue: BatchItem[] = []
  private inflight = 0
  private timer: ReturnType<typeof setTimeout> | null = null

  constructor(private readonly productId: string) {}

  add(item: BatchItem): void {
    this.queue.push(item)
    if (this.queue.length >= MAX_BATCH) this.kick()
    else
      this.timer ??= setTimeout(() => {
        this.timer = null
        this.kick()
      }, WINDOW_MS)
  }

  private kick(): void {
    while (this.inflight < MAX_INFLIGHT && this.queue.length > 0) {
      const items = this.queue.splice(0, MAX_BATCH)
      this.inflight++
      void runBatch(this.productId, items).finally(() => {
        this.inflight--
        // Whatever queued up while we were writing goes now: that is the group commit.
        if (this.queue.length > 0) this.kick()
        else if (this.inflight === 0 && !this.timer) batchers.delete(this.productId)
      })
    }
  }
}

const batchers = new Map<string, Batcher>()

/** Queues one single-line reservation; resolves after its transaction committed. */
export function enqueueReservation(item: Omit<BatchItem, 'resolve' | 'reject'>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let b = batchers.get(item.productId)
    if (!b) {
      b = new Batcher(item.productId)
      batchers.set(item.productId, b)
    }
    b.add({ ...item, resolve, reject })
  })
}

class SumFailed extends Error {}
/** A persist failed in the pipelined round: the transaction is rolled back and redone with savepoints (a batch of one just fails). */
class PersistFailed extends Error {
  constructor(readonly first: unknown) {
    super('a persist failed in a pipelined batch')
  }
}

type Mode = 'pipelined' | 'savepoints' | 'single'

/**
 * Products whose last batch came up short (sold out, or Redis down so nothing was gated), until
 * when: their batches read the stock before writing anything, instead of writing N orders and
 * rolling them back. Outlives the Batcher (which goes away whenever the product is idle).
 */
const shortUntil = new Map<string, number>()
const SHORT_MS = 30_000
const isShort = (productId: string) => (shortUntil.get(productId) ?? 0) > Date.now()
function noteShort(productId: string, short: boolean): void {
  if (!short) shortUntil.delete(productId)
  else {
    if (shortUntil.size >= 10_000) shortUntil.clear() // a bound; forgetting only costs one wasted round
    shortUntil.set(productId, Date.now() + SHORT_MS)
  }
}

async function runBatch(productId: string, items: BatchItem[]): Promise<void> {
  batchSize.observe(items.length)
  const errors = new Map<BatchItem, unknown>()
  const sum = items.reduce((s, i) => s + i.quantity, 0)
  let mode: Mode = 'pipelined'
  let readFirst = isShort(productId)
  let committed = false
  // At most: unread → read first → savepoints → one by one. Each `continue` moves one step on.
  for (let round = 0; round < 4 && !committed; round++) {
    errors.clear()
    const checked = readFirst || mode === 'single'
    try {
      const found = await db.transaction(async (tx) => {
        if (checked) {
          const [row] = await pgOf(tx)<{ a: number }[]>`select on_hand - reserved as a from inventory where product_id = ${productId}`
          if (!row) return false
          // Not enough for everyone: decide request by request (first come, first served).
          if (mode === 'single' || Number(row.a) < sum) {
            mode = 'single'
            await writeOneByOne(tx, productId, items, errors)
            return true
          }
        }
        await writeGroup(tx, productId, items, errors, mode)
        return true
      })
      if (!found) {
        for (const i of items) i.reject(new ProductInventoryNotFound(productId))
        return
      }
      noteShort(productId, mode === 'single')
      committed = true
    } catch (err) {
      if (err instanceof PersistFailed && mode === 'pipelined') {
        // One request alone: its own error, nothing to redo for the others.
        if (items.length === 1) {
          items[0]!.reject(err.first)
          return
        }
        mode = 'savepoints'
        continue
      }
      if (err instanceof SumFailed && mode !== 'single') {
        batchFallbacks.inc()
        mode = 'single'
        continue
      }
      // Anything else in a round that skipped the read (e.g. the reservations' foreign key when
      // the product has no inventory row): redo it reading first, which names the real problem.
      if (!checked) {
        readFirst = true
        continue
      }
      for (const i of items) i.reject(err)
      return
    }
  }
  if (!committed) {
    for (const i of items) i.reject(new Error('group commit: no round succeeded'))
    return
  }
  // Committed. The next batch may start now (the caller frees this slot when we return); these
  // requests are answered once no instance's product cache shows the old stock any more.
  const settle = () => {
    for (const i of items) {
      if (errors.has(i)) i.reject(errors.get(i))
      else i.resolve()
    }
  }
  if (errors.size < items.length)
    void invalidateProduct(productId)
      .catch(() => {})
      .then(settle)
  else settle()
}

/**
 * Runs every persist. 'pipelined' (first try): all persists at once on the one connection —
 * postgres.js pipelines their statements, so N orders cost about one round trip per statement of
 * ONE persist instead of N. Any failure aborts the transaction (Postgres) or leaves partial writes
 * (a JS error), so the batch is rolled back and redone in 'savepoints' mode, where each request
 * runs inside its own SAVEPOINT (sent pipelined, not awaited) and a failing one rolls back alone.
 */
async function runPersists(tx: Tx, items: BatchItem[], errors: Map<BatchItem, unknown>, mode: Mode): Promise<BatchItem[]> {
  if (mode === 'pipelined') {
    const results = await Promise.allSettled(items.map((i) => Promise.resolve().then(() => i.persist(tx))))
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw new PersistFailed(failed.reason)
    return items
  }
  const ptx = pgOf(tx)
  const ok: BatchItem[] = []
  for (const [n, item] of items.entries()) {
    const sp = `rq${n}`
    void ptx
      .unsafe(`savepoint ${sp}`)
      .execute()
      .catch(() => {})
    try {
      await item.persist(tx)
      void ptx
        .unsafe(`release savepoint ${sp}`)
        .execute()
        .catch(() => {})
      ok.push(item)
    } catch (err) {
      errors.set(item, err)
      await ptx.unsafe(`rollback to savepoint ${sp}`)
    }
  }
  return ok
}

async function writeGroup(tx: Tx, productId: string, items: BatchItem[], errors: Map<BatchItem, unknown>, mode: Mode): Promise<void> {
  const ptx = pgOf(tx)
  const ok = await runPersists(tx, items, errors, mode)
  const written: NewReservation[] = ok.flatMap((i) => newReservations(i.orderId, [{ productId, quantity: i.quantity }], i.expiresAt))
  const total = ok.reduce((s, i) => s + i.quantity, 0)
  if (total === 0) return
  // Three statements sent together, in this order, and awaited together (one round trip). The
  // UPDATE is the only one that touches the hot row, as late as possible: its lock lives until
  // COMMIT. The ledger rows do not wait for its answer: if it finds too little stock, the whole
  // transaction is rolled back anyway.
  const [, updated] = await Promise.all([
    insertReservations(ptx, written),
    ptx<StockRow[]>`
      update inventory set reserved = reserved + ${total}, version = version + 1, updated_at = now()
      where product_id = ${productId} and on_hand - reserved >= ${total}
      returning product_id as "productId", on_hand as "onHand", reserved, reorder_point as "reorderPoint"`.execute(),
    insertMovements(ptx, reserveMovements(written)),
  ])
  const after = (updated as StockRow[])[0]
  // Too little stock for the whole batch (someone took it since the gate or our read, or the gate
  // is down): redo the batch one request at a time.
  if (!after) throw new SumFailed()
  await emitStockEvents(tx, after, -total, 'reserve')
}

async function writeOneByOne(tx: Tx, productId: string, items: BatchItem[], errors: Map<BatchItem, unknown>): Promise<void> {
  for (const item of items) {
    try {
      await tx.transaction(async (sp) => {
        const p = pgOf(sp)
        const [after] = await p<StockRow[]>`
          update inventory set reserved = reserved + ${item.quantity}, version = version + 1, updated_at = now()
          where product_id = ${productId} and on_hand - reserved >= ${item.quantity}
          returning product_id as "productId", on_hand as "onHand", reserved, reorder_point as "reorderPoint"`
        if (!after) throw new OutOfStockError([productId])
        const rows = newReservations(item.orderId, [{ productId, quantity: item.quantity }], item.expiresAt)
        await insertReservations(p, rows)
        await insertMovements(p, reserveMovements(rows))
        await emitStockEvents(sp, after, -item.quantity, 'reserve')
        await item.persist(sp)
      })
    } catch (err) {
      errors.set(item, err)
    }
  }
}
