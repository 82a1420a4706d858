// The scorer: pure arithmetic over features already gathered (no I/O), so it costs microseconds
// on the checkout path. Each rule that fires adds a reason; the score is the noisy-OR of the
// reasons' weights, 1 − Π(1 − wᵢ): independent pieces of evidence add up, none can pass 1.
import type { Reason, RiskRules, WindowCode } from './model'

/** Running moments of ln(amount in cents) (Welford): n, mean, m2 = Σ(x − mean)². */
export type Moments = { n: number; mean: number; m2: number }

export type Features = {
  /** true when the Redis features were unavailable and the Postgres fallback (or nothing) was used */
  degraded: boolean
  degradedDetail?: string
  /** null when unknown */
  accountAgeSeconds: number | null
  customer: Moments
  shop: Moments
  customerOrders: number
  customerFailed: number
  customerMethods: number
  /** declines in the card-testing window */
  customerDeclines: number
  /** null when the client IP is unknown: IP rules then stay silent */
  ipOrders: number | null
  ipFailed: number | null
  ipAccounts: number | null
  /** accounts younger than the new_account window ordering from this IP in its window */
  ipNewAccounts: number | null
  /** the customer has ordered before, never from this IP */
  newIp: boolean
  /** (payment events) the customer has paid before, never with this method */
  newPaymentMethod: boolean
}

export type ScoreEvent = 'checkout' | 'payment_failed' | 'payment_succeeded'
export type OrderFacts = { amountCents: number; quantity: number }
export type Score = { score: number; reasons: Reason[] }

/** Below this many paid orders a customer has no pattern of their own: the shop's is used. */
export const MIN_CUSTOMER_HISTORY = 3
/** The shop's pattern needs this many paid orders before it can call anything unusual. */
export const MIN_SHOP_HISTORY = 30
/** ln-amount spread floor: a customer who always spends exactly 20.00 is not flagged for 25.00. */
const MIN_SD = 0.35

/** 0 below the threshold; 0.6 at it, rising linearly to 1 at twice the threshold. */
export function strength(x: number, threshold: number): number {
  if (x < threshold) return 0
  if (threshold <= 0) return 1
  return Math.min(1, 0.6 + (0.4 * (x - threshold)) / threshold)
}

export function zScore(amountCents: number, m: Moments): number {
  const sd = Math.max(MIN_SD, Math.sqrt(m.n > 1 ? m.m2 / (m.n - 1) : 0))
  return (Math.log(Math.max(1, amountCents)) - m.mean) / sd
}

const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d
const money = (cents: number) => (cents / 100).toFixed(2)

export function scoreOrder(f: Features, o: OrderFacts, rules: RiskRules, event: ScoreEvent = 'checkout'): Score {
  const r = rules.rules
  const reasons: Reason[] = []
  const add = (code: keyof RiskRules['rules'], x: number, detail: () => string) => {
    const rule = r[code]
    if (!rule.enabled || rule.weight <= 0) return
    const s = strength(x, rule.threshold)
    if (s > 0) reasons.push({ code, weight: round(rule.weight * s), detail: detail() })
  }
  if (f.customer.n >= MIN_CUSTOMER_HISTORY) {
    const z = zScore(o.amountCents, f.customer)
    add(
      'amount_customer_zscore',
      z,
      () =>
        `amount ${money(o.amountCents)} is z=${round(z, 1)} above this customer's ${f.customer.n} paid orders (typical ${money(Math.exp(f.customer.mean) | 0)})`,
    )
  } else if (f.shop.n >= MIN_SHOP_HISTORY) {
    const z = zScore(o.amountCents, f.shop)
    add(
      'amount_shop_zscore',
      z,
      () =>
        `new customer; amount ${money(o.amountCents)} is z=${round(z, 1)} above the shop's typical order (${money(Math.exp(f.shop.mean) | 0)})`,
    )
  }
  const win = (code: WindowCode) => `${r[code].windowSeconds}s`
  add(
    'velocity_customer_orders',
    f.customerOrders,
    () => `${f.customerOrders} orders by this customer in ${win('velocity_customer_orders')}`,
  )
  add(
    'velocity_customer_failed_payments',
    f.customerFailed,
    () => `${f.customerFailed} failed payments by this customer in ${win('velocity_customer_failed_payments')}`,
  )
  add(
    'velocity_customer_payment_methods',
    f.customerMethods,
    () => `${f.customerMethods} distinct payment methods in ${win('velocity_customer_payment_methods')}`,
  )
  if (f.ipOrders !== null) add('velocity_ip_orders', f.ipOrders, () => `${f.ipOrders} orders from this IP in ${win('velocity_ip_orders')}`)
  if (f.ipFailed !== null)
    add(
      'velocity_ip_failed_payments',
      f.ipFailed,
      () => `${f.ipFailed} failed payments from this IP in ${win('velocity_ip_failed_payments')}`,
    )
  if (f.ipAccounts !== null)
    add('ip_many_accounts', f.ipAccounts, () => `${f.ipAccounts} accounts ordered from this IP in ${win('ip_many_accounts')}`)
  if (f.ipNewAccounts !== null)
    add('ip_new_accounts', f.ipNewAccounts, () => `${f.ipNewAccounts} new accounts ordered from this IP in ${win('ip_new_accounts')}`)
  if (f.accountAgeSeconds !== null && f.accountAgeSeconds < r.new_account.windowSeconds)
    add(
      'new_account',
      r.new_account.windowSeconds / Math.max(1, f.accountAgeSeconds),
      () => `account created ${Math.round(f.accountAgeSeconds ?? 0)}s ago`,
    )
  if (f.newIp) add('new_ip_for_customer', 1, () => 'first order from this IP for a customer who ordered from others')
  if (f.newPaymentMethod) add('new_payment_method', 1, () => 'paid with a method this customer never used before')
  const young = f.accountAgeSeconds !== null && f.accountAgeSeconds < r.new_account_high_value.windowSeconds
  if (young)
    add(
      'new_account_high_value',
      o.amountCents,
      () => `account ${Math.round(f.accountAgeSeconds ?? 0)}s old orders ${money(o.amountCents)}`,
    )
  if (f.accountAgeSeconds !== null && f.accountAgeSeconds < r.new_account_high_quantity.windowSeconds)
    add('new_account_high_quantity', o.quantity, () => `account ${Math.round(f.accountAgeSeconds ?? 0)}s old orders ${o.quantity} units`)
  // Card testing: a run of declines, then a charge that goes through.
  if (event === 'payment_succeeded')
    add('card_testing', f.customerDeclines, () => `payment succeeded after ${f.customerDeclines} declines in ${win('card_testing')}`)
  let keep = 1
  for (const x of reasons) keep *= 1 - x.weight
  if (f.degraded) reasons.push({ code: 'degraded_features', weight: 0, detail: f.degradedDetail ?? 'features unavailable' })
  reasons.sort((a, b) => b.weight - a.weight)
  return { score: round(Math.min(1, Math.max(0, 1 - keep)), 4), reasons }
}
