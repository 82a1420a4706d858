// emitEvent: append a domain event to the outbox inside the caller's transaction, so the event
// exists if and only if the change committed. The jobs relay delivers it (at least once; consumers
// are idempotent).
import type postgres from 'postgres'
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
  | 'ml.train_requested'
  | 'stock.replan'

export async function emitEvent(tx: DbOrTx, type: DomainEventType, aggregateId: string, payload: Record<string, unknown>): Promise<string> {
  const { id, insert } = eventInsert(pgOf(tx), type, aggregateId, payload)
  await insert
  return id
}

/**
 * The event's INSERT as a postgres.js fragment, for a caller that writes its change and its event
 * in ONE statement (as a CTE: the checkout, once per order). Prepared, like every pgOf template.
 */
export function eventInsert(p: postgres.TransactionSql, type: DomainEventType, aggregateId: string, payload: Record<string, unknown>) {
  const id = Bun.randomUUIDv7()
  return {
    id,
    insert: p`insert into outbox_events (id, type, aggregate_id, payload)
      values (${id}, ${type}, ${aggregateId}, ${JSON.stringify(payload)}::jsonb)`,
  }
}
