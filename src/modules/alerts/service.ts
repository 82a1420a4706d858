// Low-stock alerts, and the one admin alert list (with the alerts other modules raise, raised.ts).
// Low-stock alerts: at most one open alert per product (partial unique index), opened when
// available ≤ reorder point (stock.low event or the daily check), resolved when stock is back above
// it (stock.restocked event or the check). Every function re-reads current stock, so a late or
// duplicated event can never open an alert for a product that has since been restocked.
import { type SQL, sql } from 'drizzle-orm'
import type { stockAlerts } from '../../../db/schema'
import { type DbOrTx, db } from '../../infra/db'
import { counter } from '../../infra/metrics'
import { decodeIdCursor, type Page, toPage } from '../../lib/cursor'
import type { RaisedKind, Severity } from './raised'

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

export type AlertKind = 'low_stock' | RaisedKind
export type AlertItem = {
  id: string
  kind: AlertKind
  severity: Severity
  subjectId: string
  productId: string | null
  message: string
  availableAtOpen: number | null
  reorderPoint: number | null
  source: string
  openedAt: Date
  resolvedAt: Date | null
  availableAtResolve: number | null
}

// A low-stock alert is critical when nothing was left to sell when it opened (derived from the
// fixed available-at-open, so it never changes under a reader).
const LOW_STOCK = sql`select id, 'low_stock' as kind,
    case when available_at_open <= 0 then 'critical' else 'warning' end as severity,
    product_id as subject_id, product_id, 'available ' || available_at_open || ' ≤ reorder point ' || reorder_point as message,
    available_at_open, reorder_point, source, opened_at, resolved_at, available_at_resolve
  from stock_alerts`
const RAISED = sql`select id, kind, severity, subject_id,
    case when kind = 'stockout_risk' then subject_id end as product_id, message,
    null::int as available_at_open, null::int as reorder_point, 'planning' as source, opened_at, resolved_at, null::int as available_at_resolve
  from planning_alerts`

/**
 * Newest first over both tables (UUIDv7 ids: time-ordered); the cursor is the last id. Each side
 * is filtered, ordered and limited on its own (primary-key scans) before the merge.
 */
export async function listAlerts(q: {
  status?: AlertStatus
  kind?: AlertKind
  severity?: Severity
  productId?: string
  limit: number
  cursor?: string
}): Promise<Page<AlertItem>> {
  const after = decodeIdCursor(q.cursor)
  const n = q.limit + 1
  const where = (product: SQL, severity: SQL) =>
    sql.join(
      [
        sql`true`,
        q.status === 'open' ? sql`resolved_at is null` : q.status === 'resolved' ? sql`resolved_at is not null` : undefined,
        q.productId ? sql`${product} = ${q.productId}` : undefined,
        q.severity ? sql`${severity} = ${q.severity}` : undefined,
        after ? sql`id < ${after}` : undefined,
      ].filter((c): c is SQL => c !== undefined),
      sql` and `,
    )
  const lowSide = !q.kind || q.kind === 'low_stock'
  const raisedSide = q.kind !== 'low_stock'
  const parts: SQL[] = []
  if (lowSide)
    parts.push(sql`(${LOW_STOCK} where ${where(sql`product_id`, sql`(case when available_at_open <= 0 then 'critical' else 'warning' end)`)}
      order by id desc limit ${n})`)
  if (raisedSide)
    parts.push(sql`(${RAISED} where ${where(sql`(case when kind = 'stockout_risk' then subject_id end)`, sql`severity`)}
      ${q.kind ? sql`and kind = ${q.kind}` : sql``} order by id desc limit ${n})`)
  const rows = await db.execute<Record<string, unknown>>(
    sql`select * from (${sql.join(parts, sql` union all `)}) a order by id desc limit ${n}`,
  )
  const items: AlertItem[] = rows.map((r) => ({
    id: String(r.id),
    kind: r.kind as AlertKind,
    severity: r.severity as Severity,
    subjectId: String(r.subject_id),
    productId: (r.product_id as string | null) ?? null,
    message: String(r.message),
    availableAtOpen: r.available_at_open == null ? null : Number(r.available_at_open),
    reorderPoint: r.reorder_point == null ? null : Number(r.reorder_point),
    source: String(r.source),
    openedAt: new Date(r.opened_at as string),
    resolvedAt: r.resolved_at == null ? null : new Date(r.resolved_at as string),
    availableAtResolve: r.available_at_resolve == null ? null : Number(r.available_at_resolve),
  }))
  return toPage(items, q.limit, (r) => [r.id])
}
