// Risk: one row per scored order (score, reasons, review state, and the signals the scorer saw),
// the payment outcomes it learned from, and the admin-editable rules. These tables are the source
// of truth of every risk feature: Redis only keeps incremental copies for the checkout's hot path,
// and scoring falls back to these rows (degraded) when Redis is down.
import { sql } from 'drizzle-orm'
import { bigint, boolean, check, index, integer, jsonb, pgTable, real, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { orders } from './orders'

/** none: below the review threshold; pending: waiting for an admin; approved/rejected: decided. */
export const RISK_REVIEW_STATUSES = ['none', 'pending', 'approved', 'rejected'] as const
export type RiskReviewStatus = (typeof RISK_REVIEW_STATUSES)[number]

export type RiskReason = { code: string; weight: number; detail: string }

export const orderRisk = pgTable(
  'order_risk',
  {
    orderId: uuid()
      .primaryKey()
      .references(() => orders.id, { onDelete: 'cascade' }),
    /** Denormalised from the order so feature queries never join other modules' tables. */
    userId: uuid().notNull(),
    /** The client address at checkout; null when unknown (in-process, loopback). */
    ip: text(),
    amountCents: bigint({ mode: 'number' }).notNull(),
    quantity: integer().notNull(),
    currency: text().notNull(),
    score: real().notNull(),
    reasons: jsonb().$type<RiskReason[]>().notNull().default([]),
    status: text().$type<RiskReviewStatus>().notNull().default('none'),
    /** Scored without the Redis features (Postgres fallback or order-only signals). */
    degraded: boolean().notNull().default(false),
    /** Set once the order is paid: only paid orders make a customer's spending pattern. */
    paidAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    rescoredAt: timestamp({ withTimezone: true }),
    decidedAt: timestamp({ withTimezone: true }),
    decidedBy: text(),
  },
  (t) => [
    index('order_risk_user_idx').on(t.userId, t.createdAt),
    index('order_risk_ip_idx').on(t.ip, t.createdAt).where(sql`${t.ip} is not null`),
    // The review queue reads only the few rows that reached the review threshold.
    index('order_risk_review_idx').on(t.status, t.orderId).where(sql`${t.status} <> 'none'`),
    check('order_risk_score_range', sql`${t.score} >= 0 and ${t.score} <= 1`),
    check('order_risk_status_check', sql`${t.status} in (${sql.raw(RISK_REVIEW_STATUSES.map((s) => `'${s}'`).join(', '))})`),
    // A decision is recorded with who made it and when, never half.
    check(
      'order_risk_decision_check',
      sql`(${t.status} in ('approved', 'rejected')) = (${t.decidedAt} is not null and ${t.decidedBy} is not null)`,
    ),
  ],
)

/** Payment outcomes as the scorer saw them (one row per payment attempt; the id makes replays no-ops). */
export const riskPaymentEvents = pgTable(
  'risk_payment_events',
  {
    paymentId: uuid().primaryKey(),
    orderId: uuid().notNull(),
    userId: uuid().notNull(),
    ip: text(),
    method: text().notNull(),
    outcome: text().$type<'failed' | 'succeeded'>().notNull(),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('risk_payment_events_user_idx').on(t.userId, t.at),
    index('risk_payment_events_ip_idx').on(t.ip, t.at).where(sql`${t.ip} is not null`),
    check('risk_payment_events_outcome_check', sql`${t.outcome} in ('failed', 'succeeded')`),
  ],
)

/** The rules document (thresholds, weights, windows): one row, versioned; every change audited. */
export const riskRules = pgTable(
  'risk_rules',
  {
    id: integer().primaryKey().default(1),
    rules: jsonb().$type<Record<string, unknown>>().notNull(),
    version: integer().notNull().default(1),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedBy: text(),
  },
  (t) => [check('risk_rules_single_row', sql`${t.id} = 1`)],
)
