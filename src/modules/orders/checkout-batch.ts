// Group commit of single-line checkouts of a hot product (the gated strategy's DB step), on the
// generic GroupCommit helper: the order rows of all N requests (writeOrder, pipelined on one
// connection), then inventory's reserveGroup (the reservation rows, ONE conditional UPDATE for the
// summed quantity, the ledger rows: one round trip), one COMMIT (one WAL flush for N orders). The
// inventory row is updated after the order rows, so its row lock is held only for the UPDATE, the
// ledger insert and the COMMIT.
// One failing order never sinks the others: the batch is redone with a SAVEPOINT per request.
// If the summed UPDATE finds too little stock, it is redone one request at a time. The happy path
// does not read the stock first (the gate already vouched for it): for 30 s after a product came
// up short, and after any unexpected error, its batches check the stock before writing anything.
import { db, pgOf, type Tx } from '../../infra/db'
import { counter, histogram } from '../../infra/metrics'
import { GroupCommit, type GroupItem } from '../../lib/group-commit'
import { announceStockChange, availableIn, ProductInventoryNotFound, reserveConditional, reserveGroup } from '../inventory/service'

export type CheckoutItem = {
  orderId: string
  productId: string
  quantity: number
  expiresAt: Date
  /** the order's own rows, in the batch's transaction (or its savepoint); no other I/O */
  writeOrder: (tx: Tx) => Promise<void>
}
type Item = GroupItem<CheckoutItem>

const batchSize = histogram('inventory_batch_size', 'Reservations written per group-commit transaction', [], [1, 2, 4, 8, 16, 32, 64])
const batchFallbacks = counter('inventory_batch_fallbacks_total', 'Batches whose summed UPDATE failed and were redone one by one')

const batches = new GroupCommit<CheckoutItem>({
  windowMs: 1,
  maxBatch: 64,
  // Batches of one product in flight per process: they only contend at the final UPDATE.
  maxInflight: 4,
  flush: runBatch,
})

/** Queues one single-line checkout; resolves after its transaction committed. */
export function enqueueCheckout(item: CheckoutItem): Promise<void> {
  return batches.add(item.productId, item)
}

class SumFailed extends Error {}
/** A writeOrder failed in the pipelined round: the transaction is rolled back and redone with savepoints (a batch of one just fails). */
class WriteFailed extends Error {
  constructor(readonly first: unknown) {
    super('an order write failed in a pipelined batch')
  }
}

type Mode = 'pipelined' | 'savepoints' | 'single'

/**
 * Products whose last batch came up short (sold out, or Redis down so nothing was gated), until
 * when: their batches read the stock before writing anything, instead of writing N orders and
 * rolling them back. Outlives the batch queue (which goes away whenever the product is idle).
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

async function runBatch(productId: string, items: Item[]): Promise<void> {
  batchSize.observe(items.length)
  const errors = new Map<Item, unknown>()
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
          const available = await availableIn(tx, productId)
          if (available === null) return false
          // Not enough for everyone: decide request by request (first come, first served).
          if (mode === 'single' || available < sum) {
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
      if (err instanceof WriteFailed && mode === 'pipelined') {
        // One request alone: its own error, nothing to redo for the others.
        if (items.length === 1) {
          items[0]?.reject(err.first)
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
  // requests are answered once inventory's listeners saw the change (no instance's product cache
  // shows the old stock any more).
  const settle = () => {
    for (const i of items) {
      if (errors.has(i)) i.reject(errors.get(i))
      else i.resolve()
    }
  }
  if (errors.size < items.length) void announceStockChange([productId]).then(settle)
  else settle()
}

/**
 * Runs every writeOrder. 'pipelined' (first try): all at once on the one connection — postgres.js
 * pipelines their statements, so N orders cost about one round trip per statement of ONE order
 * instead of N. Any failure aborts the transaction (Postgres) or leaves partial writes (a JS
 * error), so the batch is rolled back and redone in 'savepoints' mode, where each request runs
 * inside its own SAVEPOINT (sent pipelined, not awaited) and a failing one rolls back alone.
 */
async function writeOrders(tx: Tx, items: Item[], errors: Map<Item, unknown>, mode: Mode): Promise<Item[]> {
  if (mode === 'pipelined') {
    const results = await Promise.allSettled(items.map((i) => Promise.resolve().then(() => i.writeOrder(tx))))
    const failed = results.find((r) => r.status === 'rejected')
    if (failed) throw new WriteFailed(failed.reason)
    return items
  }
  const ptx = pgOf(tx)
  const ok: Item[] = []
  for (const [n, item] of items.entries()) {
    const sp = `rq${n}`
    void ptx
      .unsafe(`savepoint ${sp}`)
      .execute()
      .catch(() => {})
    try {
      await item.writeOrder(tx)
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

async function writeGroup(tx: Tx, productId: string, items: Item[], errors: Map<Item, unknown>, mode: Mode): Promise<void> {
  const ok = await writeOrders(tx, items, errors, mode)
  // Too little stock for the whole batch (someone took it since the gate or our read, or the gate
  // is down): the transaction is rolled back and the batch redone one request at a time.
  if (!(await reserveGroup(tx, productId, ok))) throw new SumFailed()
}

async function writeOneByOne(tx: Tx, productId: string, items: Item[], errors: Map<Item, unknown>): Promise<void> {
  for (const item of items) {
    try {
      await tx.transaction(async (sp) => {
        await reserveConditional(sp, { orderId: item.orderId, lines: [{ productId, quantity: item.quantity }], expiresAt: item.expiresAt })
        await item.writeOrder(sp)
      })
    } catch (err) {
      errors.set(item, err)
    }
  }
}
