// Operational alerts other than low stock (those keep their own table): a typed subject, a
// severity and a message for an admin. At most one open alert per (type, subject).
import { sql } from 'drizzle-orm'
import { check, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number]

export const alerts = pgTable(
  'alerts',
  {
    id: uuid().primaryKey(),
    /** e.g. risk_review */
    type: text().notNull(),
    severity: text().$type<AlertSeverity>().notNull(),
    /** what the alert is about (an order id for risk reviews) */
    subjectId: text().notNull(),
    message: text().notNull(),
    details: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    uniqueIndex('alerts_open_subject_key').on(t.type, t.subjectId).where(sql`${t.resolvedAt} is null`),
    index('alerts_type_idx').on(t.type, t.id),
    check('alerts_severity_check', sql`${t.severity} in (${sql.raw(ALERT_SEVERITIES.map((s) => `'${s}'`).join(', '))})`),
  ],
)
