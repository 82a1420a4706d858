// The order state machine: ONE transition table, and the only function that changes an order's
// status. A transition is a conditional UPDATE (WHERE status = from), so two concurrent
// transitions of one order cannot both win; the loser sees 409 illegal_transition. Every
// transition writes a history row and a domain event into the outbox in the caller's transaction.
import { and, eq, sql } from 'drizzle-orm'
import { type OrderStatus, orderStatusHistory, orders } from '../../../db/schema'
import type { Tx } from '../../infra/db'
import { counter } from '../../infra/metrics'
import { ConflictError, NotFoundError } from '../../lib/errors'
import { type DomainEventType, emitEvent } from '../../lib/outbox'

export const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  pending_payment: ['paid', 'cancelled', 'expired', 'payment_failed'],
  paid: ['fulfilled', 'refunded'],
  fulfilled: ['shipped'],
  shipped: ['delivered'],
  delivered: [],
  cancelled: [],
  expired: [],
  // Not final: until the reservation expires the buyer may pay again (another method) or cancel.
  payment_failed: ['pending_payment', 'cancelled', 'expired', 'on_hold'],
  refunded: [],
  // Held for a risk review: approved → payable again; rejected or cancelled → cancelled; past the
  // maximum hold → expired (stock released either way).
  on_hold: ['pending_payment', 'cancelled', 'expired'],
}

const EVENT_OF: Partial<Record<OrderStatus, DomainEventType>> = {
  paid: 'order.paid',
  cancelled: 'order.cancelled',
  expired: 'order.expired',
  payment_failed: 'order.payment_failed',
  refunded: 'order.refunded',
}

const transitions = counter('order_transitions_total', 'Order status transitions by target status', ['to'])

export class IllegalTransitionError extends ConflictError {
  constructor(from: OrderStatus, to: OrderStatus) {
    const allowed = TRANSITIONS[from]
    super(
      `An order in status ${from} cannot become ${to}; allowed: ${allowed.length ? allowed.join(', ') : 'none (final state)'}`,
      'illegal_transition',
      { from, to, allowed },
    )
  }
}

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to)
}

export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to)
}

export type Transition = {
  orderId: string
  from: OrderStatus
  to: OrderStatus
  /** user:<id>, admin:<id>, system:<job>, gateway:<event> */
  actor: string
  reason?: string
  /** merged into the outbox payload */
  payload?: Record<string, unknown>
}

/**
 * Moves an order from `from` to `to` inside `tx`. Throws IllegalTransitionError when the table
 * forbids it or when the order is no longer in `from` (someone else won the race).
 */
export async function transition(tx: Tx, t: Transition): Promise<{ userId: string; totalCents: number; currency: string }> {
  assertTransition(t.from, t.to)
  const [row] = await tx
    .update(orders)
    .set({ status: t.to, updatedAt: sql`now()` })
    .where(and(eq(orders.id, t.orderId), eq(orders.status, t.from)))
    .returning({ userId: orders.userId, totalCents: orders.totalCents, currency: orders.currency })
  if (!row) {
    const [current] = await tx.select({ status: orders.status }).from(orders).where(eq(orders.id, t.orderId))
    if (!current) throw new NotFoundError('Order')
    throw new IllegalTransitionError(current.status, t.to)
  }
  transitions.inc({ to: t.to })
  await tx.insert(orderStatusHistory).values({ orderId: t.orderId, fromStatus: t.from, toStatus: t.to, actor: t.actor, reason: t.reason })
  await emitEvent(tx, EVENT_OF[t.to] ?? 'order.status_changed', t.orderId, {
    orderId: t.orderId,
    userId: row.userId,
    from: t.from,
    to: t.to,
    actor: t.actor,
    reason: t.reason ?? null,
    totalCents: row.totalCents,
    currency: row.currency,
    ...t.payload,
  })
  return row
}
