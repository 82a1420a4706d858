// Group commit for single-line reservations of a hot product (the gated strategy's DB step).
// Requests for one product that arrive while a batch is being written are collected (≤ WINDOW_MS
// or MAX_BATCH) and written in ONE transaction: one conditional inventory UPDATE for the summed
// quantity, N reservation rows, N persist(tx) calls each in its own SAVEPOINT (one failing order
// does not sink the others), one ledger insert, one COMMIT (one WAL flush for N orders). The
// inventory row is updated last, so its row lock is held only for the UPDATE + COMMIT.
import { db, type Tx } from '../../infra/db'
import { counter, histogram } from '../../infra/metrics'
import { invalidateProduct } from '../catalog/cache'
import { OutOfStockError, ProductInventoryNotFound } from './errors'
import {
  emitStockEvents,
  insertMovements,
  insertReservations,
  type NewReservation,
  newReservations,
  raw,
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

async function runBatch(productId: string, items: BatchItem[]): Promise<void> {
  batchSize.observe(items.length)
  const errors = new Map<BatchItem, unknown>()
  let mode: 'group' | 'single' = 'group'
  for (let round = 0; round < 2; round++) {
    errors.clear()
    try {
      const found = await db.transaction(async (tx) => {
        const ptx = raw(tx)
        const [row] = await ptx<{ a: number }[]>`select on_hand - reserved as a from inventory where product_id = ${productId}`
        if (!row) return false
        const sum = items.reduce((s, i) => s + i.quantity, 0)
        // Not enough for everyone: decide request by request (first come, first served).
        if (mode === 'single' || Number(row.a) < sum) {
          mode = 'single'
          await writeOneByOne(tx, productId, items, errors)
        } else await writeGroup(tx, productId, items, errors)
        return true
      })
      if (!found) {
        for (const i of items) i.reject(new ProductInventoryNotFound(productId))
        return
      }
      break
    } catch (err) {
      if (err instanceof SumFailed && round === 0) {
        batchFallbacks.inc()
        mode = 'single'
        continue
      }
      for (const i of items) i.reject(err)
      return
    }
  }
  if (errors.size < items.length) await invalidateProduct(productId).catch(() => {})
  for (const i of items) {
    if (errors.has(i)) i.reject(errors.get(i))
    else i.resolve()
  }
}

async function writeGroup(tx: Tx, productId: string, items: BatchItem[], errors: Map<BatchItem, unknown>): Promise<void> {
  const ptx = raw(tx)
  const written: NewReservation[] = []
  let total = 0
  for (const [n, item] of items.entries()) {
    // SAVEPOINT and RELEASE are sent without waiting for their answers (postgres.js pipelines
    // them ahead of persist's first statement on the same connection): a request costs only
    // its own persist round trips. A failed persist rolls back to its savepoint and only it fails.
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
      written.push(...newReservations(item.orderId, [{ productId, quantity: item.quantity }], item.expiresAt))
      total += item.quantity
    } catch (err) {
      errors.set(item, err)
      await ptx.unsafe(`rollback to savepoint ${sp}`)
    }
  }
  if (total === 0) return
  await insertReservations(ptx, written)
  // The only statement that touches the hot row, as late as possible: its lock lives until COMMIT.
  const [after] = await ptx<StockRow[]>`
    update inventory set reserved = reserved + ${total}, version = version + 1, updated_at = now()
    where product_id = ${productId} and on_hand - reserved >= ${total}
    returning product_id as "productId", on_hand as "onHand", reserved, reorder_point as "reorderPoint"`
  // Someone took stock between our read and this UPDATE: redo the batch one request at a time.
  if (!after) throw new SumFailed()
  await insertMovements(ptx, reserveMovements(written))
  await emitStockEvents(tx, after, -total, 'reserve')
}

async function writeOneByOne(tx: Tx, productId: string, items: BatchItem[], errors: Map<BatchItem, unknown>): Promise<void> {
  for (const item of items) {
    try {
      await tx.transaction(async (sp) => {
        const p = raw(sp)
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
