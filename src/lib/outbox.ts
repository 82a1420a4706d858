// emitEvent: append a domain event to the outbox inside the caller's transaction, so the event
// exists if and only if the change committed. The jobs relay delivers it (at least once; consumers
// are idempotent).
import { sql } from 'drizzle-orm'
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
  // Written by every checkout: fixed SQL text through execute(), which postgres.js prepares once per
  // connection (Drizzle's builder sends an unnamed statement Postgres parses and plans every time).
  await tx.execute(sql`insert into outbox_events (id, type, aggregate_id, payload)
    values (${id}, ${type}, ${aggregateId}, ${JSON.stringify(payload)}::jsonb)`)
  return id
}
