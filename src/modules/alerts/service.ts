// Low-stock alerts: at most one open alert per product (partial unique index), opened when
// available ≤ reorder point (stock.low event or the daily check), resolved when stock is back above
// it (stock.restocked event or the check). Every function re-reads current stock, so a late or
// duplicated event can never open an alert for a product that has since been restocked.
import { and, desc, eq, isNotNull, isNull, lt, sql } from 'drizzle-orm'
import { stockAlerts } from '../../../db/schema'
import { type DbOrTx, db } from '../../infra/db'
import { counter } from '../../infra/metrics'
import { decodeIdCursor, type Page, toPage } from '../../lib/cursor'

const alertEvents = counter('stock_alerts_total', 'Low-stock alerts opened and resolved', ['event'])

export type AlertStatus = 'open' | 'resolved'
export type StockAlert = typeof stockAlerts.$inferSelect

// Stock is read straight from `inventory` (read-only): the inventory module exposes no
// reorder-point query yet, and a join is the only way to check every product in one statement.
const LOW = sql`(i.on_hand - i.reserved) <= i.reorder_point`

/** Re-evaluates one product: opens or resolves its alert. Idempotent. */
export async function checkProductStock(
  productId: string,
  source: string,
  tx: DbOrTx = db,
): Promise<{ opened: boolean; resolved: boolean; low: boolean | null }> {
  const opened = await tx.execute<{ id: string }>(sql`
    insert into stock_alerts (id, product_id, available_at_open, reorder_point, source)
    select ${Bun.randomUUIDv7()}, i.product_id, i.on_hand - i.reserved, i.reorder_point, ${source}
    from inventory i where i.product_id = ${productId} and ${LOW}
    on conflict (product_id) where resolved_at is null do nothing
    returning id`)
  const resolved = await tx.execute<{ id: string }>(sql`
    update stock_alerts a set resolved_at = now(), available_at_resolve = i.on_hand - i.reserved
    from inventory i
    where a.product_id = ${productId} and i.product_id = a.product_id and a.resolved_at is null and not ${LOW}
    returning a.id`)
  const row = await tx.execute<{ low: boolean }>(sql`select ${LOW} as low from inventory i where i.product_id = ${productId}`)
  const o = opened.length > 0
  const r = resolved.length > 0
  if (o) alertEvents.inc({ event: 'opened' })
  if (r) alertEvents.inc({ event: 'resolved' })
  return { opened: o, resolved: r, low: row[0] ? Boolean(row[0].low) : null }
}

/** The daily sweep: opens alerts for every low product, resolves the rest. */
export async function checkAllStock(tx: DbOrTx = db): Promise<{ opened: number; resolved: number }> {
  const low = await tx.execute<{ productId: string }>(sql`select i.product_id as "productId" from inventory i where ${LOW}`)
  let opened = 0
  // Ids are UUIDv7 made here (Postgres 15 has no uuidv7()), so alerts list in opening order by id.
  for (let i = 0; i < low.length; i += 500) {
    const chunk = low.slice(i, i + 500)
    const values = sql.join(
      chunk.map((r) => sql`(${Bun.randomUUIDv7()}::uuid, ${r.productId}::uuid)`),
      sql`, `,
    )
    const rows = await tx.execute(sql`
      insert into stock_alerts (id, product_id, available_at_open, reorder_point, source)
      select v.id, i.product_id, i.on_hand - i.reserved, i.reorder_point, 'daily-check'
      from (values ${values}) as v(id, product_id) join inventory i on i.product_id = v.product_id
      where ${LOW}
      on conflict (product_id) where resolved_at is null do nothing
      returning 1`)
    opened += rows.length
  }
  const resolved = await tx.execute(sql`
    update stock_alerts a set resolved_at = now(), available_at_resolve = i.on_hand - i.reserved
    from inventory i
    where i.product_id = a.product_id and a.resolved_at is null and not ${LOW}
    returning 1`)
  alertEvents.inc({ event: 'opened' }, opened)
  alertEvents.inc({ event: 'resolved' }, resolved.length)
  return { opened, resolved: resolved.length }
}

/** Newest first; the cursor is the last id (UUIDv7, time-ordered). */
export async function listAlerts(q: {
  status?: AlertStatus
  productId?: string
  limit: number
  cursor?: string
}): Promise<Page<StockAlert>> {
  const after = decodeIdCursor(q.cursor)
  const rows = await db
    .select()
    .from(stockAlerts)
    .where(
      and(
        q.status === 'open' ? isNull(stockAlerts.resolvedAt) : q.status === 'resolved' ? isNotNull(stockAlerts.resolvedAt) : undefined,
        q.productId ? eq(stockAlerts.productId, q.productId) : undefined,
        after ? lt(stockAlerts.id, after) : undefined,
      ),
    )
    .orderBy(desc(stockAlerts.id))
    .limit(q.limit + 1)
  return toPage(rows, q.limit, (r) => [r.id])
}
