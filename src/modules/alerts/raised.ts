// Alerts other modules raise: planning's projected stock-outs, overdue purchase orders and falling
// supplier reliability. The alerts module owns the one alert list (GET /admin/alerts shows these
// beside its own low-stock alerts); raisers call these functions and never write the table, so
// alerts imports none of them and the dependency points one way (planning → alerts).
import { sql } from 'drizzle-orm'
import type { PlanningAlertKind } from '../../../db/schema'
import { db } from '../../infra/db'
import { counter } from '../../infra/metrics'
import { publishLive } from '../live/bus'

export type RaisedKind = PlanningAlertKind
export type Severity = 'warning' | 'critical'

const raised = counter('raised_alerts_total', 'Alerts raised by other modules, opened and resolved', ['kind', 'event'])

/**
 * Opens the alert of a subject (a product, purchase order or supplier id, by kind), or updates its
 * severity and message when one is open: at most one open alert per kind and subject (partial
 * unique index), however often the sweeps and events run.
 */
export async function raiseAlert(kind: RaisedKind, subjectId: string, severity: Severity, message: string): Promise<void> {
  const rows = await db.execute<{ inserted: boolean }>(sql`
    insert into planning_alerts (id, kind, severity, subject_id, message)
    values (${Bun.randomUUIDv7()}, ${kind}, ${severity}, ${subjectId}, ${message})
    on conflict (kind, subject_id) where resolved_at is null do update set severity = excluded.severity, message = excluded.message
    returning (xmax = 0) as inserted`)
  if (!rows[0]?.inserted) return
  raised.inc({ kind, event: 'opened' })
  // The admin live feed shows it too (best-effort: null when Redis is away; the row is the record).
  await publishLive('alert.created', { kind, severity, subjectId, productId: kind === 'stockout_risk' ? subjectId : null, message })
}

/** Resolves the open alert of a subject, if any. */
export async function clearAlert(kind: RaisedKind, subjectId: string): Promise<void> {
  const rows = await db.execute(
    sql`update planning_alerts set resolved_at = now() where kind = ${kind} and subject_id = ${subjectId} and resolved_at is null returning 1`,
  )
  if (rows.length) raised.inc({ kind, event: 'resolved' })
}

/** Resolves every open alert of `kind` whose subject is not in `keep` (subjects that went away). */
export async function clearAlertsExcept(kind: RaisedKind, keep: string[]): Promise<void> {
  const rows = await db.execute(sql`
    update planning_alerts set resolved_at = now() where kind = ${kind} and resolved_at is null
    ${keep.length ? sql`and subject_id not in ${keep}` : sql``} returning 1`)
  if (rows.length) raised.inc({ kind, event: 'resolved' }, rows.length)
}
