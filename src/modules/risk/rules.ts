// The rules document: built-in defaults until an admin saves one (PUT /admin/risk/rules, audited).
// Read on every checkout, so it is cached in-process for a few seconds; a save in this process
// takes effect at once, in other processes within RULES_CACHE_MS.
import { eq, sql } from 'drizzle-orm'
import { riskRules } from '../../../db/schema'
import { db } from '../../infra/db'
import { audit } from '../../lib/audit'
import { ValidationProblem } from '../../lib/errors'
import type { RiskRules, RiskRulesView } from './model'

/**
 * Defaults chosen so that one strong signal (card testing, a spending spike far above the
 * customer's own pattern, a ring of accounts on one IP) reaches review, a weak one does not, and
 * only several strong ones together reach block. Measured on the seeded traffic: `bun run eval:risk`.
 */
export const DEFAULT_RULES: RiskRules = {
  reviewThreshold: 0.5,
  blockThreshold: 0.97,
  maxHoldSeconds: 86400,
  rules: {
    amount_customer_zscore: { enabled: true, weight: 0.45, threshold: 1.5 },
    amount_shop_zscore: { enabled: true, weight: 0.3, threshold: 3 },
    velocity_customer_orders: { enabled: true, weight: 0.3, threshold: 6, windowSeconds: 600 },
    velocity_customer_failed_payments: { enabled: true, weight: 0.5, threshold: 3, windowSeconds: 3600 },
    velocity_customer_payment_methods: { enabled: true, weight: 0.3, threshold: 3, windowSeconds: 3600 },
    velocity_ip_orders: { enabled: true, weight: 0.3, threshold: 8, windowSeconds: 600 },
    velocity_ip_failed_payments: { enabled: true, weight: 0.5, threshold: 3, windowSeconds: 3600 },
    new_account_high_value: { enabled: true, weight: 0.3, threshold: 100_000, windowSeconds: 86400 },
    new_account_high_quantity: { enabled: true, weight: 0.3, threshold: 10, windowSeconds: 86400 },
    ip_many_accounts: { enabled: true, weight: 0.55, threshold: 5, windowSeconds: 900 },
    ip_new_accounts: { enabled: true, weight: 0.6, threshold: 2, windowSeconds: 900 },
    new_account: { enabled: true, weight: 0.1, threshold: 1, windowSeconds: 7 * 86400 },
    new_ip_for_customer: { enabled: true, weight: 0.2, threshold: 0.5, windowSeconds: 86400 },
    new_payment_method: { enabled: true, weight: 0.25, threshold: 0.5, windowSeconds: 86400 },
    card_testing: { enabled: true, weight: 0.8, threshold: 3, windowSeconds: 3600 },
  },
}

const RULES_CACHE_MS = 2000
let cached: { view: RiskRulesView; at: number } | null = null
/** One read in flight at a time: a burst of checkouts after the cache lapsed shares it. */
let loading: Promise<RiskRulesView> | null = null

export function defaultsView(): RiskRulesView {
  return { ...structuredClone(DEFAULT_RULES), version: 0, updatedAt: null, updatedBy: null }
}

export async function getRules(): Promise<RiskRulesView> {
  if (cached && performance.now() - cached.at < RULES_CACHE_MS) return cached.view
  loading ??= loadRules().finally(() => {
    loading = null
  })
  return loading
}

async function loadRules(): Promise<RiskRulesView> {
  const [row] = await db.select().from(riskRules).where(eq(riskRules.id, 1))
  const view: RiskRulesView = row
    ? { ...(row.rules as RiskRules), version: row.version, updatedAt: row.updatedAt.toISOString(), updatedBy: row.updatedBy }
    : defaultsView()
  cached = { view, at: performance.now() }
  return view
}

/** The cached rules without waiting (the checkout's hot path); null before the first load. */
export function cachedRules(): RiskRulesView | null {
  return cached && performance.now() - cached.at < RULES_CACHE_MS ? cached.view : null
}

export function forgetRulesCache(): void {
  cached = null
}

export async function putRules(next: RiskRules, actorId: string, meta: { ip: string; requestId: string } | null): Promise<RiskRulesView> {
  if (next.blockThreshold < next.reviewThreshold)
    throw ValidationProblem.field('blockThreshold', 'must be ≥ reviewThreshold (a blocked score would otherwise skip review)')
  const view = await db.transaction(async (tx) => {
    const before = await tx.select().from(riskRules).where(eq(riskRules.id, 1)).for('update')
    const [row] = await tx
      .insert(riskRules)
      .values({ id: 1, rules: next, version: 1, updatedBy: `admin:${actorId}` })
      .onConflictDoUpdate({
        target: riskRules.id,
        set: { rules: next, version: sql`${riskRules.version} + 1`, updatedAt: sql`now()`, updatedBy: `admin:${actorId}` },
      })
      .returning()
    await audit(tx, 'risk_rules_change', actorId, meta, {
      version: row!.version,
      before: before[0]?.rules ?? DEFAULT_RULES,
      after: next,
    })
    return { ...next, version: row!.version, updatedAt: row!.updatedAt.toISOString(), updatedBy: row!.updatedBy }
  })
  cached = { view, at: performance.now() }
  return view
}
