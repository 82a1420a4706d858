// Alerts other than low stock (risk reviews, …): raised by a module inside its own transaction,
// at most one open per (type, subject) (alerts_open_subject_key), resolved when handled.
import { and, desc, eq, isNotNull, isNull, lt, sql } from 'drizzle-orm'
import { type AlertSeverity, alerts } from '../../../db/schema'
import type { DbOrTx } from '../../infra/db'
import { counter } from '../../infra/metrics'
import { decodeIdCursor, type Page, toPage } from '../../lib/cursor'

const raised = counter('alerts_raised_total', 'Alerts raised, by type and severity', ['type', 'severity'])

export type NewAlert = { type: string; severity: AlertSeverity; subjectId: string; message: string; details?: Record<string, unknown> }

/** Opens the alert unless one is already open for the subject; true when it opened one. */
export async function raiseAlert(tx: DbOrTx, a: NewAlert): Promise<boolean> {
  const rows = await tx
    .insert(alerts)
    .values({
      id: Bun.randomUUIDv7(),
      type: a.type,
      severity: a.severity,
      subjectId: a.subjectId,
      message: a.message,
      details: a.details ?? {},
    })
    .onConflictDoNothing({ target: [alerts.type, alerts.subjectId], where: sql`${alerts.resolvedAt} is null` })
    .returning({ id: alerts.id })
  if (rows.length) raised.inc({ type: a.type, severity: a.severity })
  return rows.length > 0
}

export async function resolveAlert(tx: DbOrTx, type: string, subjectId: string): Promise<void> {
  await tx
    .update(alerts)
    .set({ resolvedAt: sql`now()` })
    .where(and(eq(alerts.type, type), eq(alerts.subjectId, subjectId), isNull(alerts.resolvedAt)))
}

export type Alert = typeof alerts.$inferSelect

export async function listGeneralAlerts(
  tx: DbOrTx,
  q: { type?: string; status?: 'open' | 'resolved'; limit: number; cursor?: string },
): Promise<Page<Alert>> {
  const after = decodeIdCursor(q.cursor)
  const rows = await tx
    .select()
    .from(alerts)
    .where(
      and(
        q.type ? eq(alerts.type, q.type) : undefined,
        q.status === 'open' ? isNull(alerts.resolvedAt) : q.status === 'resolved' ? isNotNull(alerts.resolvedAt) : undefined,
        after ? lt(alerts.id, after) : undefined,
      ),
    )
    .orderBy(desc(alerts.id))
    .limit(q.limit + 1)
  return toPage(rows, q.limit, (r) => [r.id])
}
