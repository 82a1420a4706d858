// Reserving stock for an order, whichever the strategy, as a hold that brackets the caller's
// transaction: holdStock (before it: the gate's units or the Redis lock, no Postgres), then
// hold.reserve(tx, …) inside it (the strategy's statements, reservation and ledger rows), then
// hold.end(err) after it (lease ended or units given back, lock released, gate adjusted, stock
// change announced). The caller (orders' checkout) owns the transaction and writes its own rows in
// it: inventory never calls back into orders.
import { config } from '../../config'
import { pgOf, type Tx } from '../../infra/db'
import { counter, histogram } from '../../infra/metrics'
import { ContentionError, OutOfStockError } from './errors'
import { announceStockChange } from './events'
import { type DoorMarker, gateAdjust, gateAdmit, gateRefresh, gateRelease, gateReserve, newTicketId } from './gate'
import { guardStockChange, type StockLine } from './guard'
import { emitStockEvents, insertMovements, insertReservations, newReservations, reserveMovements, updateReserved } from './store'
import { lockProducts, type Reservation, reserveConditional, reserveOptimistic, reservePessimistic } from './strategies'

export type Strategy = 'gated' | 'pessimistic' | 'optimistic'

const reservationsTotal = counter('inventory_reservations_total', 'Reservation attempts by strategy and outcome', ['strategy', 'outcome'])
const reserveSeconds = histogram(
  'inventory_reserve_duration_seconds',
  'reserveForOrder latency by strategy',
  ['strategy'],
  [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
)

/**
 * Units a request already took from the gate at the door, leased to `id` (see gate.ts): the lease
 * ends when the reservation commits or the units are given back; if the process dies first, it
 * expires and the units return to the gate. `done` once handed over or given back.
 */
export type GateTicket = { id: string; lines: readonly StockLine[]; done: boolean }

/**
 * The flash-sale door (gated strategy only), before any Postgres work: throws OutOfStockError when
 * the Redis gate knows the lines cannot be served, otherwise takes the units from the gate and
 * returns a ticket for them. Pass the ticket to holdStock (which then owns it) and call
 * returnGateTicket when the request ends, whatever happened (a no-op once handed over). null = the
 * gate can't vouch (Redis down, counters unloaded or stale, or `marker` present in Redis): take
 * the full path. An admission sets `marker` (the caller's Idempotency-Key marker). The Postgres
 * conditional UPDATE stays the fence either way.
 */
export async function admitAtTheDoor(
  lines: readonly StockLine[],
  marker: DoorMarker,
  strategy: Strategy = config.INVENTORY_STRATEGY,
): Promise<GateTicket | null> {
  if (strategy !== 'gated') return null
  const checked = guardStockChange('reserve', lines)
  const id = newTicketId()
  const res = await gateAdmit(checked, marker, id)
  if (!res) return null
  if (!res.ok) {
    reservationsTotal.inc({ strategy: 'gated-fast-path', outcome: 'out_of_stock' })
    throw new OutOfStockError(res.productIds, res.verify)
  }
  return { id, lines: checked, done: false }
}

/** Gives a ticket's units back to the gate unless a reservation took it over. */
export async function returnGateTicket(ticket: GateTicket): Promise<void> {
  if (ticket.done) return
  ticket.done = true
  await gateRelease(ticket.lines, ticket.id, true)
}

/** True when the ticket covers exactly these lines: the reservation then owns its units. */
function takeTicket(ticket: GateTicket | null | undefined, lines: StockLine[]): boolean {
  if (!ticket || ticket.done) return false
  const same =
    ticket.lines.length === lines.length &&
    ticket.lines.every((l, i) => l.productId === lines[i]?.productId && l.quantity === lines[i]?.quantity)
  if (same) ticket.done = true
  return same
}

export type StockHold = {
  /** the lines, validated, merged and sorted by product id (the lock order) */
  lines: StockLine[]
  /** one line, gated: the caller may write it in a group commit (reserveGroup) instead of reserve */
  groupable: boolean
  /** takes the units inside the caller's transaction (strategy statements, reservation and ledger rows) */
  reserve(tx: Tx, orderId: string, expiresAt: Date): Promise<void>
  /** after the caller's transaction: `err` null = committed, else what failed. Call exactly once. */
  end(err: unknown): Promise<void>
}

/**
 * Starts a reservation of `lines` (422 on bad lines). Gated: takes the units from the Redis gate
 * (sold out → 409 without touching Postgres; skipped when the door's `ticket` already took them).
 * Pessimistic: takes the Redis locks. Optimistic: nothing yet.
 */
export async function holdStock(
  input: { lines: readonly StockLine[]; ticket?: GateTicket | null },
  strategy: Strategy = config.INVENTORY_STRATEGY,
): Promise<StockHold> {
  const lines = guardStockChange('reserve', input.lines)
  const ids = lines.map((l) => l.productId)
  const done = reserveSeconds.startTimer({ strategy })
  const finish = (err: unknown) => {
    done()
    const outcome = !err
      ? 'reserved'
      : err instanceof OutOfStockError
        ? 'out_of_stock'
        : err instanceof ContentionError
          ? 'contention'
          : 'error'
    reservationsTotal.inc({ strategy, outcome })
  }
  if (strategy === 'gated') {
    const admitted = takeTicket(input.ticket, lines) ? (input.ticket as GateTicket).id : null
    const ticketId = admitted ?? newTicketId()
    let gate: Awaited<ReturnType<typeof gateReserve>> = { ok: true }
    try {
      if (!admitted) gate = await gateReserve(lines, ticketId)
    } catch (err) {
      finish(err)
      throw err
    }
    if (gate && !gate.ok) {
      const err = new OutOfStockError(gate.productIds)
      finish(err)
      throw err
    }
    const gated = gate !== null
    // Reserved through this hold (not in a group commit, whose flush announces for the batch).
    let direct = false
    return {
      lines,
      groupable: lines.length === 1,
      reserve: (tx, orderId, expiresAt) => {
        direct = true
        return reserveConditional(tx, { orderId, lines, expiresAt })
      },
      async end(err) {
        finish(err)
        if (!err) {
          // Not awaited: the buyer need not wait for it, and a release lost on the way only lets
          // the lease expire (upward drift, which Postgres refuses).
          if (gated) void gateRelease(lines, ticketId, false)
          if (direct) await announceStockChange(ids)
          return
        }
        if (!gated) return
        // Postgres said "short" although the gate let it through: the counter had drifted up
        // (e.g. a sale on another strategy). Reload it from the truth instead of giving back (the
        // reload drops the product's leases, so the release below gives nothing back for it).
        if (err instanceof OutOfStockError) await gateRefresh(err.productIds)
        await gateRelease(lines, ticketId, true)
      },
    }
  }
  const unlock = strategy === 'pessimistic' ? await lockProducts(ids) : async () => {}
  const take = strategy === 'pessimistic' ? reservePessimistic : reserveOptimistic
  return {
    lines,
    groupable: false,
    reserve: (tx, orderId, expiresAt) => take(tx, { orderId, lines, expiresAt } satisfies Reservation),
    async end(err) {
      await unlock()
      finish(err)
      if (err) return
      // Keep loaded gate counters in step when another strategy sold from the same product.
      await gateAdjust(lines.map((l) => ({ productId: l.productId, delta: -l.quantity })))
      await announceStockChange(ids)
    },
  }
}

/** One order of a group commit: its id, units of the group's product, and reservation expiry. */
export type GroupLine = { orderId: string; quantity: number; expiresAt: Date }

/**
 * A group commit's reservation of one product for many orders (see orders' checkout-batch.ts):
 * the reservation rows, ONE conditional UPDATE for the summed quantity and the ledger rows, sent
 * together (one round trip); the UPDATE is the only one that touches the hot row, as late as
 * possible (its lock lives until COMMIT). false = too little stock for the sum: the caller rolls
 * back and decides order by order (reserveConditional).
 */
export async function reserveGroup(tx: Tx, productId: string, group: GroupLine[]): Promise<boolean> {
  const ptx = pgOf(tx)
  const written = group.flatMap((g) => newReservations(g.orderId, [{ productId, quantity: g.quantity }], g.expiresAt))
  const total = group.reduce((s, g) => s + g.quantity, 0)
  if (total === 0) return true
  const [, after] = await Promise.all([
    insertReservations(ptx, written),
    updateReserved(ptx, productId, total, 'available'),
    insertMovements(ptx, reserveMovements(written)),
  ])
  if (!after) return false
  await emitStockEvents(tx, after, -total, 'reserve')
  return true
}

/** on_hand − reserved of one product in the caller's transaction; null = no such product. */
export async function availableIn(tx: Tx, productId: string): Promise<number | null> {
  const [row] = await pgOf(tx)<{ a: number }[]>`select on_hand - reserved as a from inventory where product_id = ${productId}`
  return row ? Number(row.a) : null
}
