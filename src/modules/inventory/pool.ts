// Sale pools (issue 21): units moved out of a product's sellable stock for one flash sale, taken by
// the sale's orders, and given back at the end. Inventory stays the only writer of stock: the
// sales module calls these functions and never touches `inventory`, `sale_pools` or the ledger.
//
// Accounting: the pool's free units (units − held − sold − returned) stay counted in
// `inventory.reserved`, so the product's CHECKs still fence them and they are not sellable through
// POST /orders. A sale order moves units from the pool to its own reservation (ledger: `reserve`
// +q and `pool` −q, inventory row untouched — the hot row of a drop is the pool row). Payment
// commits them like any order; an order released while the pool is open gives them back to the
// pool (`expire`/`release` −q, `pool` +q), after the close to the product. Lock order everywhere:
// buyer row, pool row, then inventory row.
import type postgres from 'postgres'
import { db, pgOf, sql, type Tx } from '../../infra/db'
import { OutOfStockError, ProductInventoryNotFound } from './errors'
import { announceStockChange } from './events'
import { gateAdjust } from './gate'
import { guardStockChange } from './guard'
import { MAX_RESTOCK_QUANTITY } from './model'
import { type PoolTicket, poolGateAdjust, poolGateRetire, releasePoolTicket } from './pool-gate'
import { emitStockEvents, insertMovements, newReservations, type StockRow } from './store'

export { admitFromPool, installPoolGate, type PoolRefused, type PoolTicket, poolSoldOutLocally, releasePoolTicket } from './pool-gate'

/** Why a pool refused: the sales module turns these into its 409/410/425 answers. */
export type PoolRefusalReason = 'sold_out' | 'per_customer_limit' | 'not_open' | 'closed' | 'unknown'
export class PoolRefusal extends Error {
  constructor(readonly reason: PoolRefusalReason) {
    super(`sale pool refused: ${reason}`)
  }
}

export type PoolState = {
  saleId: string
  productId: string
  units: number
  held: number
  sold: number
  returned: number
  free: number
  closed: boolean
}

const RETURNING_STOCK =
  'product_id as "productId", on_hand as "onHand", reserved, reorder_point as "reorderPoint", replan_level as "replanLevel"'

/** Moves `units` of available stock into the pool's hold (inventory.reserved); 409 when lacking. */
async function holdForPool(tx: Tx, saleId: string, productId: string, units: number, reason: string): Promise<void> {
  const [line] = guardStockChange('pool', [{ productId, quantity: units }], 'units')
  const q = (line as { quantity: number }).quantity
  if (q <= 0 || q > MAX_RESTOCK_QUANTITY) throw new OutOfStockError([productId])
  const ptx = pgOf(tx)
  const [after] = await ptx.unsafe<StockRow[]>(
    `update inventory set reserved = reserved + $1, version = version + 1, updated_at = now()
     where product_id = $2 and on_hand - reserved >= $1 returning ${RETURNING_STOCK}`,
    [q, productId],
  )
  if (!after) {
    const [exists] = await ptx`select 1 from inventory where product_id = ${productId}`
    if (!exists) throw new ProductInventoryNotFound(productId)
    throw new OutOfStockError([productId])
  }
  await insertMovements(ptx, [{ productId, kind: 'pool', onHandDelta: 0, reservedDelta: q, reason: `sale ${saleId}: ${reason}` }])
  await emitStockEvents(tx, after, -q, 'pool')
}

/**
 * Opens a sale's pool: `persist(tx)` writes the sale row first (the pool references it), then the
 * units leave the product's sellable stock in the same transaction. Throws OutOfStockError (409)
 * when the product lacks them.
 */
export async function openPool(
  p: { saleId: string; productId: string; units: number; opensAt: Date; closesAt: Date },
  persist: (tx: Tx) => Promise<void>,
): Promise<void> {
  await db.transaction(async (tx) => {
    await persist(tx)
    await holdForPool(tx, p.saleId, p.productId, p.units, 'units into the pool')
    const ptx = pgOf(tx)
    await ptx`insert into sale_pools (sale_id, product_id, units, opens_at, closes_at)
      values (${p.saleId}, ${p.productId}, ${p.units}, ${p.opensAt.toISOString()}, ${p.closesAt.toISOString()})`
  })
  await gateAdjust([{ productId: p.productId, delta: -p.units }])
  await announceStockChange([p.productId])
}

/**
 * Raises an open pool to `units` in total (admin raises a sale's units): the difference leaves the
 * product's stock. Returns the step to run after the caller's commit. Throws PoolRefusal('closed')
 * for a closed pool, RangeError when `units` is below the current total, OutOfStockError (409)
 * when the product lacks the difference.
 */
export async function growPoolTo(tx: Tx, saleId: string, units: number): Promise<() => Promise<void>> {
  const ptx = pgOf(tx)
  const [pool] = await ptx<{ productId: string; units: number }[]>`
    select product_id as "productId", units from sale_pools where sale_id = ${saleId} and closed_at is null for update`
  if (!pool) throw new PoolRefusal('closed')
  const extra = units - pool.units
  if (extra < 0) throw new RangeError(`units can only be raised (now ${pool.units})`)
  if (extra === 0) return async () => {}
  await holdForPool(tx, saleId, pool.productId, extra, 'more units into the pool')
  await ptx`update sale_pools set units = units + ${extra} where sale_id = ${saleId}`
  return async () => {
    await gateAdjust([{ productId: pool.productId, delta: -extra }])
    await poolGateAdjust(saleId, extra)
    await announceStockChange([pool.productId])
  }
}

/** Moves an open pool's window (the sale was rescheduled before its start). */
export async function reschedulePool(tx: Tx, saleId: string, opensAt: Date, closesAt: Date): Promise<void> {
  await pgOf(tx)`update sale_pools set opens_at = ${opensAt.toISOString()}, closes_at = ${closesAt.toISOString()}
    where sale_id = ${saleId} and closed_at is null`
}

/**
 * Closes a pool (sale ended or cancelled): it takes nothing more, and its free units go back to
 * the product's sellable stock with a ledger movement. Idempotent. Returns the units given back.
 */
export async function closePool(saleId: string, reason: string): Promise<number> {
  const done = await db.transaction(async (tx) => {
    const ptx = pgOf(tx)
    const [pool] = await ptx<{ productId: string; free: number }[]>`
      select product_id as "productId", units - held - sold - returned as free
      from sale_pools where sale_id = ${saleId} and closed_at is null for update`
    if (!pool) return null
    await ptx`update sale_pools set returned = returned + ${pool.free}, closed_at = now() where sale_id = ${saleId}`
    if (pool.free > 0) await giveBackToProduct(tx, ptx, pool.productId, pool.free, `sale ${saleId}: ${reason}, unsold units back`)
    return pool
  })
  if (!done) return 0
  await poolGateRetire(saleId)
  if (done.free > 0) {
    await gateAdjust([{ productId: done.productId, delta: done.free }])
    await announceStockChange([done.productId])
  }
  return done.free
}

async function giveBackToProduct(tx: Tx, ptx: postgres.TransactionSql, productId: string, q: number, reason: string): Promise<void> {
  const [after] = await ptx.unsafe<StockRow[]>(
    `update inventory set reserved = reserved - $1, version = version + 1, updated_at = now()
     where product_id = $2 returning ${RETURNING_STOCK}`,
    [q, productId],
  )
  await insertMovements(ptx, [{ productId, kind: 'pool', onHandDelta: 0, reservedDelta: -q, reason }])
  if (after) await emitStockEvents(tx, after, q, 'pool')
}

/** Why an UPDATE of the pool took nothing (read under the same transaction, after it). */
async function whyRefused(ptx: postgres.TransactionSql, saleId: string): Promise<PoolRefusalReason> {
  const [p] = await ptx<{ closed: boolean; early: boolean; late: boolean }[]>`
    select closed_at is not null as closed, clock_timestamp() < opens_at as early, clock_timestamp() >= closes_at as late
    from sale_pools where sale_id = ${saleId}`
  if (!p) return 'unknown'
  if (p.closed || p.late) return 'closed'
  return p.early ? 'not_open' : 'sold_out'
}

/**
 * One pool transaction at a time per sale in this process. Every sale order updates the one pool
 * row last, holding its lock until COMMIT; with a pool of connections all contending for it, a
 * saturated box saw lock waits past DATABASE_LOCK_TIMEOUT_MS (2 s): those orders failed with 503
 * after the door had admitted them, and their buyers had been turned away meanwhile (61 of 100
 * units sold in the pre-open stampede). Serialized per process, a transaction waits for at most
 * the other instances' one each. A pool holds a drop's units (tens to thousands), not deep stock.
 */
const lanes = new Map<string, Promise<unknown>>()
function inLane<T>(saleId: string, fn: () => Promise<T>): Promise<T> {
  const run = (lanes.get(saleId) ?? Promise.resolve()).then(fn, fn)
  const tail = run.catch(() => {})
  lanes.set(saleId, tail)
  void tail.then(() => {
    if (lanes.get(saleId) === tail) lanes.delete(saleId)
  })
  return run
}

export type PoolReserveInput = {
  saleId: string
  userId: string
  quantity: number
  perCustomerLimit: number
  orderId: string
  expiresAt: Date
  writeOrder: (tx: Tx) => Promise<void>
  ticket?: PoolTicket | null
}

/**
 * A sale order's units, all or nothing, in one transaction with the order's own rows. Postgres
 * decides: the buyer's count may not pass the limit (conditional upsert + CHECK), and the pool
 * gives units only inside its window and only while it has them (conditional UPDATE + CHECK),
 * whatever the Redis gate said. The hot pool row is updated last, just before COMMIT.
 */
export async function reserveFromPool(input: PoolReserveInput): Promise<void> {
  const q = input.quantity
  const ticket = input.ticket && !input.ticket.done ? input.ticket : null
  if (ticket) ticket.done = true
  try {
    if (!Number.isInteger(q) || q < 1) throw new PoolRefusal('sold_out')
    if (q > input.perCustomerLimit) throw new PoolRefusal('per_customer_limit')
    await inLane(input.saleId, () => takeFromPool(input, q))
  } catch (err) {
    // The gate let it through but Postgres found the pool empty: the counter was high by these
    // units (a lease reclaimed from a live holder that then committed), so they are not given back;
    // any other failure gives them back.
    if (ticket) await releasePoolTicket(ticket, !(err instanceof PoolRefusal && err.reason === 'sold_out'))
    throw err
  }
  if (ticket) void releasePoolTicket(ticket, false)
}

function takeFromPool(input: PoolReserveInput, q: number): Promise<void> {
  return db.transaction(async (tx) => {
    const ptx = pgOf(tx)
    const [buyer] = await ptx`
        insert into sale_pool_buyers as b (sale_id, user_id, units, max_units)
        values (${input.saleId}, ${input.userId}, ${q}, ${input.perCustomerLimit})
        on conflict (sale_id, user_id) do update set units = b.units + excluded.units
        where b.units + excluded.units <= b.max_units
        returning units`
    if (!buyer) throw new PoolRefusal('per_customer_limit')
    const [pool] = await ptx<{ productId: string }[]>`select product_id as "productId" from sale_pools where sale_id = ${input.saleId}`
    if (!pool) throw new PoolRefusal('unknown')
    const rows = newReservations(input.orderId, [{ productId: pool.productId, quantity: q }], input.expiresAt)
    const r = rows[0] as (typeof rows)[number]
    await ptx`insert into sale_pool_orders (order_id, sale_id, user_id, quantity) values (${input.orderId}, ${input.saleId}, ${input.userId}, ${q})`
    await ptx`insert into reservations (id, order_id, product_id, quantity, expires_at, sale_id)
        values (${r.id}, ${r.orderId}, ${r.productId}, ${q}, ${r.expiresAt.toISOString()}, ${input.saleId})`
    await insertMovements(ptx, [
      { productId: pool.productId, kind: 'reserve', onHandDelta: 0, reservedDelta: q, reservationId: r.id, orderId: input.orderId },
      {
        productId: pool.productId,
        kind: 'pool',
        onHandDelta: 0,
        reservedDelta: -q,
        orderId: input.orderId,
        reason: `sale ${input.saleId}: pool → order`,
      },
    ])
    await input.writeOrder(tx)
    const [took] = await ptx`
        update sale_pools set held = held + ${q}
        where sale_id = ${input.saleId} and closed_at is null and units - held - sold - returned >= ${q}
          and clock_timestamp() >= opens_at and clock_timestamp() < closes_at
        returning 1`
    if (!took) throw new PoolRefusal(await whyRefused(ptx, input.saleId))
  })
}

type SaleRow = { orderId: string; saleId: string; quantity: number }

/** Payment of sale orders (called by commitReservations before it touches inventory rows). */
export async function commitPoolUnits(ptx: postgres.TransactionSql, rows: SaleRow[]): Promise<void> {
  for (const r of rows)
    await ptx`update sale_pools set held = held - ${r.quantity}, sold = sold + ${r.quantity} where sale_id = ${r.saleId}`
}

/**
 * Sale orders released or expired (called by releaseReservations before it touches inventory
 * rows): the buyer's count goes down; units go back to the pool while it is open (the inventory
 * row keeps them reserved), to the product after the close. Returns the rows whose units go back
 * to the product (the caller releases those as usual) and the pool changes to apply after commit.
 */
export async function releasePoolUnits(
  ptx: postgres.TransactionSql,
  rows: (SaleRow & { productId: string; reservationId: string })[],
  kind: 'release' | 'expire',
): Promise<{ toProduct: typeof rows; after: () => Promise<void> }> {
  const toProduct: typeof rows = []
  const backToPool: { saleId: string; quantity: number }[] = []
  for (const r of rows) {
    await ptx`update sale_pool_buyers b set units = b.units - ${r.quantity}
      from sale_pool_orders o where o.order_id = ${r.orderId} and b.sale_id = o.sale_id and b.user_id = o.user_id`
    const [pool] = await ptx<{ closed: boolean }[]>`
      update sale_pools set held = held - ${r.quantity},
        returned = returned + case when closed_at is null then 0 else ${r.quantity}::int end
      where sale_id = ${r.saleId} returning closed_at is not null as closed`
    if (pool?.closed) toProduct.push(r)
    else backToPool.push({ saleId: r.saleId, quantity: r.quantity })
  }
  const inPool = rows.filter((r) => !toProduct.includes(r))
  await insertMovements(ptx, [
    ...inPool.map((r) => ({
      productId: r.productId,
      kind,
      onHandDelta: 0,
      reservedDelta: -r.quantity,
      reservationId: r.reservationId,
      orderId: r.orderId,
    })),
    ...inPool.map((r) => ({
      productId: r.productId,
      kind: 'pool' as const,
      onHandDelta: 0,
      reservedDelta: r.quantity,
      orderId: r.orderId,
      reason: `sale ${r.saleId}: order → pool`,
    })),
  ])
  return {
    toProduct,
    after: async () => {
      for (const b of backToPool) await poolGateAdjust(b.saleId, b.quantity)
    },
  }
}

/** Pool counters of many sales (one statement). */
export async function poolStates(saleIds: readonly string[]): Promise<Map<string, PoolState>> {
  if (saleIds.length === 0) return new Map()
  const rows = await sql<PoolState[]>`
    select sale_id as "saleId", product_id as "productId", units, held, sold, returned,
      units - held - sold - returned as free, closed_at is not null as closed
    from sale_pools where sale_id in ${sql(saleIds as string[])}`
  return new Map(rows.map((r) => [r.saleId, r]))
}

/** Open pools whose window ended (the sweep closes them) and open pools opening within `leadMs`. */
export async function poolsDue(leadMs: number): Promise<{ toClose: string[]; toInstall: string[] }> {
  const rows = await sql<{ saleId: string; due: boolean }[]>`
    select sale_id as "saleId", closes_at <= clock_timestamp() as due from sale_pools
    where closed_at is null and (closes_at <= clock_timestamp() or opens_at <= clock_timestamp() + ${leadMs} * interval '1 millisecond')`
  return { toClose: rows.filter((r) => r.due).map((r) => r.saleId), toInstall: rows.filter((r) => !r.due).map((r) => r.saleId) }
}
