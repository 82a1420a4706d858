// emitEvent: append a domain event to the outbox inside the caller's transaction, so the event
// exists if and only if the change committed. The jobs relay delivers it (at least once; consumers
// are idempotent).
import { type DbOrTx, pgOf } from '../infra/db'

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
  // Written by every checkout: a prepared statement (see pgOf).
  await pgOf(tx)`insert into outbox_events (id, type, aggregate_id, payload)
    values (${id}, ${type}, ${aggregateId}, ${JSON.stringify(payload)}::jsonb)`
  return id
}
