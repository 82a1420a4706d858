// Risk schemas: the rules document (thresholds, weights, windows), reasons, and review views.
import { t } from 'elysia'
import { RISK_REVIEW_STATUSES } from '../../../db/schema'

const Weight = t.Number({ minimum: 0, maximum: 1, description: 'largest contribution of this rule to the score' })
const Window = t.Integer({ minimum: 1, maximum: 30 * 86400, description: 'sliding window, seconds' })

/** One rule: fires when its measure reaches `threshold` (inside `windowSeconds` where it counts). */
const Rule = (threshold: string) =>
  t.Object(
    { enabled: t.Boolean(), weight: Weight, threshold: t.Number({ minimum: 0, description: threshold }) },
    { additionalProperties: false },
  )
const WindowRule = (threshold: string) =>
  t.Object(
    { enabled: t.Boolean(), weight: Weight, threshold: t.Number({ minimum: 0, description: threshold }), windowSeconds: Window },
    { additionalProperties: false },
  )

/** Every reason code the scorer can give, with what its threshold measures. */
export const RuleSet = t.Object(
  {
    amount_customer_zscore: Rule("z-score of ln(amount) against the customer's own paid orders (needs 3+)"),
    amount_shop_zscore: Rule('z-score of ln(amount) against the shop, for customers with fewer than 3 paid orders'),
    velocity_customer_orders: WindowRule('orders by this customer in the window'),
    velocity_customer_failed_payments: WindowRule('failed payments of this customer in the window'),
    velocity_customer_payment_methods: WindowRule('distinct payment methods of this customer in the window'),
    velocity_ip_orders: WindowRule('orders from this client IP in the window'),
    velocity_ip_failed_payments: WindowRule('failed payments from this client IP in the window'),
    new_account_high_value: WindowRule('order amount in cents, for accounts younger than the window'),
    new_account_high_quantity: WindowRule('units in the order, for accounts younger than the window'),
    ip_many_accounts: WindowRule('distinct accounts ordering from this client IP in the window'),
    ip_new_accounts: WindowRule('distinct new accounts (younger than the new_account window) ordering from this client IP in the window'),
    new_account: WindowRule('window ÷ account age (1 = as old as the window; fires for accounts younger than the window)'),
    new_ip_for_customer: WindowRule(
      'measure is 1 when no paid order of the customer came from this IP at least `windowSeconds` ago (and some came from others), else 0',
    ),
    new_payment_method: WindowRule(
      'measure is 1 (payment events) when the customer paid with other methods, but not with this one, at least `windowSeconds` ago, else 0',
    ),
    card_testing: WindowRule('declined payments of this customer in the window, then a successful one'),
  },
  { additionalProperties: false },
)
export type RuleSet = typeof RuleSet.static
export type ReasonCode = keyof RuleSet | 'degraded_features'
/** The rules that count inside a sliding window. */
export type WindowCode = { [K in keyof RuleSet]: RuleSet[K] extends { windowSeconds: number } ? K : never }[keyof RuleSet]

export const RiskRules = t.Object(
  {
    reviewThreshold: t.Number({ minimum: 0, maximum: 1, description: 'score ≥ this → the order is held for review' }),
    blockThreshold: t.Number({ minimum: 0, maximum: 1, description: 'score ≥ this → 422 risk_declined' }),
    maxHoldSeconds: t.Integer({ minimum: 60, maximum: 30 * 86400, description: 'a held order expires (stock released) after this' }),
    rules: RuleSet,
  },
  { additionalProperties: false },
)
export type RiskRules = typeof RiskRules.static

export const RiskRulesView = t.Object({
  ...RiskRules.properties,
  version: t.Integer({ description: '0 = built-in defaults, never changed' }),
  updatedAt: t.Nullable(t.String({ format: 'date-time' })),
  updatedBy: t.Nullable(t.String()),
})
export type RiskRulesView = typeof RiskRulesView.static

export const Reason = t.Object({ code: t.String(), weight: t.Number(), detail: t.String() })
export type Reason = typeof Reason.static

export const ReviewStatus = t.UnionEnum(['pending', 'approved', 'rejected'] as const)
export const RiskStatusSchema = t.UnionEnum([...RISK_REVIEW_STATUSES, 'unscored'] as const, {
  description: 'none: below the review threshold; pending/approved/rejected: review state; unscored: no risk record',
})

export const ReviewItem = t.Object({
  orderId: t.String(),
  score: t.Number(),
  reasons: t.Array(Reason),
  status: t.UnionEnum(RISK_REVIEW_STATUSES),
  createdAt: t.String({ format: 'date-time' }),
})
export type ReviewItem = typeof ReviewItem.static

export const ReviewPage = t.Object({ items: t.Array(ReviewItem), nextCursor: t.Nullable(t.String()) })

export const CustomerPattern = t.Object({
  userId: t.String(),
  accountCreatedAt: t.Nullable(t.String({ format: 'date-time' })),
  paidOrders: t.Integer(),
  medianAmountCents: t.Nullable(t.Integer()),
  meanAmountCents: t.Nullable(t.Integer()),
  ordersLast24h: t.Integer(),
  failedPaymentsLast24h: t.Integer(),
})

export const ReviewDetail = t.Object({
  ...ReviewItem.properties,
  degraded: t.Boolean(),
  orderStatus: t.String(),
  ip: t.Nullable(t.String()),
  amountCents: t.Integer(),
  currency: t.String(),
  decidedAt: t.Nullable(t.String({ format: 'date-time' })),
  decidedBy: t.Nullable(t.String()),
  customer: CustomerPattern,
  linkedAccounts: t.Array(
    t.Object({ userId: t.String(), via: t.Literal('ip'), ip: t.String(), lastSeenAt: t.String({ format: 'date-time' }) }),
  ),
})
export type ReviewDetail = typeof ReviewDetail.static

export const ReviewListQuery = t.Object({
  status: t.Optional(ReviewStatus),
  limit: t.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: t.Optional(t.String({ maxLength: 200 })),
})
export const ReviewParams = t.Object({ orderId: t.String({ format: 'uuid' }) })
