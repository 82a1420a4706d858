// emitEvent: append a domain event to the outbox inside the caller's transaction, so the event
// exists if and only if the change committed. The jobs relay delivers it (at least once; consumers
// are idempotent).
import { outboxEvents } from '../../db/schema'
import type { DbOrTx } from '../infra/db'

export type DomainEventType =
  | 'order.created'
  | 'order.paid'
  | 'order.cancelled'
  | 'order.expired'
  | 'order.payment_failed'
  | 'order.refunded'
  | 'order.status_changed'
  | 'stock.low'
  | 'stock.restocked'

export async function emitEvent(tx: DbOrTx, type: DomainEventType, aggregateId: string, payload: Record<string, unknown>): Promise<string> {
  const id = Bun.randomUUIDv7()
  await tx.insert(outboxEvents).values({ id, type, aggregateId, payload })
  return id
}
