// Risk scoring: every reason fires on a crafted case and stays silent on its near miss — through
// the real feature store (Redis script, this run's key prefix) and the real scorer.
import { describe, expect, test } from 'bun:test'
import { redis } from '../src/infra/redis'
import { gatherFeatures, recordPayment } from '../src/modules/risk/features'
import type { RiskRules } from '../src/modules/risk/model'
import { DEFAULT_RULES } from '../src/modules/risk/rules'
import { type ScoreEvent, scoreOrder, strength } from '../src/modules/risk/score'
import { riskIp } from '../src/modules/risk/service'

const rules: RiskRules = DEFAULT_RULES
const NOW = Date.now()
const MIN = 60_000
const DAY = 86_400_000
const oldUser = () => Bun.randomUUIDv7('hex', NOW - 30 * DAY)
let ipSeq = 0
const newIp = () => `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.${++ipSeq % 250}`

type Checkout = { userId: string; ip?: string | null; amountCents?: number; quantity?: number; at?: number; currency?: string }

/** One checkout through the feature store (recorded, as at checkout) and the scorer. */
async function checkout(c: Checkout, event: ScoreEvent = 'checkout', record = true) {
  const q = {
    userId: c.userId,
    ip: c.ip ?? null,
    currency: c.currency ?? 'USD',
    orderId: Bun.randomUUIDv7(),
    nowMs: c.at ?? NOW,
    record,
  }
  const f = await gatherFeatures(q, rules, 2000)
  expect(f.degraded).toBe(false)
  return scoreOrder(f, { amountCents: c.amountCents ?? 2000, quantity: c.quantity ?? 1 }, rules, event)
}
const codes = (s: { reasons: { code: string }[] }) => s.reasons.map((r) => r.code)

async function payment(
  userId: string,
  outcome: 'failed' | 'succeeded',
  o: { ip?: string | null; method?: string; amountCents?: number; at?: number; currency?: string } = {},
) {
  const r = redis()
  if (!r) throw new Error('tests need Redis')
  await recordPayment(
    r,
    {
      paymentId: Bun.randomUUIDv7(),
      orderId: Bun.randomUUIDv7(),
      userId,
      ip: o.ip ?? null,
      method: o.method ?? 'pm_card_ok',
      outcome,
      amountCents: o.amountCents ?? 2000,
      currency: o.currency ?? 'USD',
      nowMs: o.at ?? NOW,
    },
    rules,
  )
}

describe('scorer arithmetic', () => {
  test('strength: 0 below the threshold, 0.6 at it, 1 from twice it; the score is a noisy-OR in [0, 1]', () => {
    expect(strength(4.99, 5)).toBe(0)
    expect(strength(5, 5)).toBeCloseTo(0.6)
    expect(strength(10, 5)).toBe(1)
    expect(strength(50, 5)).toBe(1)
  })
  test('loopback and in-process callers carry no IP signal', () => {
    expect(riskIp('127.0.0.1')).toBeNull()
    expect(riskIp('local')).toBeNull()
    expect(riskIp('::1')).toBeNull()
    expect(riskIp('203.0.113.9')).toBe('203.0.113.9')
  })
})

describe('each reason fires on its crafted case, not on the near miss', () => {
  test('velocity_customer_orders: 6 orders in 10 min fire, 5 do not, 6 spread past the window do not', async () => {
    const u = oldUser()
    for (let i = 0; i < 4; i++) await checkout({ userId: u, at: NOW - i * 1000 })
    expect(codes(await checkout({ userId: u }))).not.toContain('velocity_customer_orders') // 5th
    expect(codes(await checkout({ userId: u }))).toContain('velocity_customer_orders') // 6th
    const v = oldUser()
    for (let i = 0; i < 5; i++) await checkout({ userId: v, at: NOW - 11 * MIN })
    expect(codes(await checkout({ userId: v }))).not.toContain('velocity_customer_orders')
  })

  test('velocity_ip_orders: 8 orders from one IP in 10 min fire, 7 do not', async () => {
    const ip = newIp()
    const users = [oldUser(), oldUser(), oldUser()]
    for (let i = 0; i < 6; i++) await checkout({ userId: users[i % 3]!, ip })
    expect(codes(await checkout({ userId: users[0]!, ip }))).not.toContain('velocity_ip_orders')
    expect(codes(await checkout({ userId: users[1]!, ip }))).toContain('velocity_ip_orders')
  })

  test('ip_many_accounts: 5 accounts on one IP fire, 4 do not; no IP, no signal', async () => {
    const ip = newIp()
    for (let i = 0; i < 3; i++) await checkout({ userId: oldUser(), ip })
    expect(codes(await checkout({ userId: oldUser(), ip }))).not.toContain('ip_many_accounts')
    const s = await checkout({ userId: oldUser(), ip })
    expect(codes(s)).toContain('ip_many_accounts')
    expect(s.reasons.find((r) => r.code === 'ip_many_accounts')?.detail).toContain('5 accounts')
    for (let i = 0; i < 6; i++) await checkout({ userId: oldUser(), ip: null })
    expect(codes(await checkout({ userId: oldUser(), ip: null }))).not.toContain('ip_many_accounts')
  })

  test('new_account_high_value: a 1-hour-old account spending 1000.00 fires; 999.99, or a 2-day-old account, does not', async () => {
    const young = () => Bun.randomUUIDv7('hex', NOW - 3_600_000)
    expect(codes(await checkout({ userId: young(), amountCents: 100_000 }))).toContain('new_account_high_value')
    expect(codes(await checkout({ userId: young(), amountCents: 99_999 }))).not.toContain('new_account_high_value')
    expect(codes(await checkout({ userId: Bun.randomUUIDv7('hex', NOW - 2 * DAY), amountCents: 100_000 }))).not.toContain(
      'new_account_high_value',
    )
  })

  test('new_account_high_quantity: 10 units from a new account fire, 9 do not', async () => {
    const young = () => Bun.randomUUIDv7('hex', NOW - 60_000)
    expect(codes(await checkout({ userId: young(), quantity: 10 }))).toContain('new_account_high_quantity')
    expect(codes(await checkout({ userId: young(), quantity: 9 }))).not.toContain('new_account_high_quantity')
  })

  test('velocity_customer_failed_payments: 3 declines fire, 2 do not', async () => {
    const u = oldUser()
    await payment(u, 'failed')
    await payment(u, 'failed')
    expect(codes(await checkout({ userId: u }))).not.toContain('velocity_customer_failed_payments')
    await payment(u, 'failed')
    expect(codes(await checkout({ userId: u }))).toContain('velocity_customer_failed_payments')
  })

  test('velocity_customer_payment_methods: 3 distinct methods fire, 2 (used twice each) do not', async () => {
    const u = oldUser()
    for (const m of ['pm_a', 'pm_b', 'pm_a', 'pm_b']) await payment(u, 'succeeded', { method: m })
    expect(codes(await checkout({ userId: u }))).not.toContain('velocity_customer_payment_methods')
    await payment(u, 'failed', { method: 'pm_c' })
    expect(codes(await checkout({ userId: u }))).toContain('velocity_customer_payment_methods')
  })

  test('velocity_ip_failed_payments: 3 declines from one IP (several accounts) fire, 2 do not', async () => {
    const ip = newIp()
    for (let i = 0; i < 2; i++) await payment(oldUser(), 'failed', { ip })
    expect(codes(await checkout({ userId: oldUser(), ip }))).not.toContain('velocity_ip_failed_payments')
    await payment(oldUser(), 'failed', { ip })
    expect(codes(await checkout({ userId: oldUser(), ip }))).toContain('velocity_ip_failed_payments')
  })

  test('card_testing: 3 declines then a success fire; 2 declines then a success, or 3 declines and no success, do not', async () => {
    const u = oldUser()
    for (let i = 0; i < 3; i++) await payment(u, 'failed', { method: `pm_t${i}` })
    expect(codes(await checkout({ userId: u }, 'checkout', false))).not.toContain('card_testing')
    const s = await checkout({ userId: u }, 'payment_succeeded', false)
    expect(codes(s)).toContain('card_testing')
    expect(s.score).toBeGreaterThanOrEqual(rules.reviewThreshold)
    const v = oldUser()
    for (let i = 0; i < 2; i++) await payment(v, 'failed')
    expect(codes(await checkout({ userId: v }, 'payment_succeeded', false))).not.toContain('card_testing')
  })

  test("amount_customer_zscore: 10× the customer's usual spend fires, 1.3× does not; needs 3 paid orders", async () => {
    const u = oldUser()
    for (const a of [1800, 2100, 2000, 2300, 1900]) await payment(u, 'succeeded', { amountCents: a })
    const spike = await checkout({ userId: u, amountCents: 20_000 })
    expect(codes(spike)).toContain('amount_customer_zscore')
    expect(codes(await checkout({ userId: u, amountCents: 2600 }))).not.toContain('amount_customer_zscore')
    const v = oldUser()
    for (const a of [2000, 2100]) await payment(v, 'succeeded', { amountCents: a })
    expect(codes(await checkout({ userId: v, amountCents: 20_000 }))).not.toContain('amount_customer_zscore')
  })

  test("amount_shop_zscore: a new customer far above the shop's orders fires, a typical amount does not", async () => {
    const currency = 'XTS'
    for (let i = 0; i < 40; i++) await payment(oldUser(), 'succeeded', { currency, amountCents: 2500 + (i % 7) * 300 })
    const first = oldUser()
    expect(codes(await checkout({ userId: first, currency, amountCents: 60_000 }))).toContain('amount_shop_zscore')
    expect(codes(await checkout({ userId: oldUser(), currency, amountCents: 4000 }))).not.toContain('amount_shop_zscore')
  })

  test('ip_new_accounts: 2 new accounts on one IP fire, 1 does not; old accounts do not', async () => {
    const ip = newIp()
    const young = () => Bun.randomUUIDv7('hex', NOW - 3 * 3_600_000)
    expect(codes(await checkout({ userId: young(), ip }))).not.toContain('ip_new_accounts')
    expect(codes(await checkout({ userId: young(), ip }))).toContain('ip_new_accounts')
    const other = newIp()
    for (let i = 0; i < 3; i++) expect(codes(await checkout({ userId: oldUser(), ip: other }))).not.toContain('ip_new_accounts')
  })

  test('new_account: an account younger than a week fires (weakly), an eight-day-old one does not', async () => {
    const s = await checkout({ userId: Bun.randomUUIDv7('hex', NOW - 600_000) })
    expect(codes(s)).toContain('new_account')
    expect(s.score).toBeLessThan(rules.reviewThreshold)
    expect(codes(await checkout({ userId: Bun.randomUUIDv7('hex', NOW - 8 * DAY) }))).not.toContain('new_account')
  })

  test("new_ip_for_customer: an address none of the customer's paid orders came from fires; a known one, or no history, does not", async () => {
    const u = oldUser()
    const home = newIp()
    expect(codes(await checkout({ userId: u, ip: newIp() }))).not.toContain('new_ip_for_customer') // no paid order yet
    await payment(u, 'succeeded', { ip: home, at: NOW - 2 * DAY })
    expect(codes(await checkout({ userId: u, ip: home }))).not.toContain('new_ip_for_customer')
    const attacker = newIp()
    expect(codes(await checkout({ userId: u, ip: attacker }))).toContain('new_ip_for_customer')
    // One paid order from the attacker's address does not make it known: trust comes with age.
    await payment(u, 'succeeded', { ip: attacker })
    expect(codes(await checkout({ userId: u, ip: attacker }))).toContain('new_ip_for_customer')
  })

  test('new_payment_method: a method the customer never paid with fires on the payment event; a known one does not', async () => {
    const r = redis()!
    const u = oldUser()
    const signal = (method: string, at = NOW) => ({
      paymentId: Bun.randomUUIDv7(),
      orderId: Bun.randomUUIDv7(),
      userId: u,
      ip: null,
      method,
      outcome: 'succeeded' as const,
      amountCents: 2000,
      currency: 'USD',
      nowMs: at,
    })
    expect((await recordPayment(r, signal('pm_first', NOW - 2 * DAY), rules)).newMethod).toBe(false) // nothing known yet
    expect((await recordPayment(r, signal('pm_first'), rules)).newMethod).toBe(false)
    expect((await recordPayment(r, signal('pm_other'), rules)).newMethod).toBe(true)
    const f = await gatherFeatures(
      { userId: u, ip: null, currency: 'USD', orderId: Bun.randomUUIDv7(), nowMs: NOW, record: false },
      rules,
      2000,
    )
    expect(codes(scoreOrder({ ...f, newPaymentMethod: true }, { amountCents: 2000, quantity: 1 }, rules, 'payment_succeeded'))).toContain(
      'new_payment_method',
    )
    expect(codes(scoreOrder(f, { amountCents: 2000, quantity: 1 }, rules, 'payment_succeeded'))).not.toContain('new_payment_method')
  })

  test('a rule switched off never fires; the score stays in [0, 1] with every rule firing', async () => {
    const off = structuredClone(rules)
    off.rules.new_account_high_quantity.enabled = false
    const f = await gatherFeatures(
      { userId: Bun.randomUUIDv7(), ip: null, currency: 'USD', orderId: Bun.randomUUIDv7(), nowMs: NOW, record: false },
      off,
      2000,
    )
    expect(codes(scoreOrder(f, { amountCents: 1, quantity: 100 }, off))).not.toContain('new_account_high_quantity')
    const all = scoreOrder(
      {
        ...f,
        customerOrders: 99,
        customerFailed: 99,
        customerMethods: 99,
        customerDeclines: 99,
        ipOrders: 999,
        ipFailed: 99,
        ipAccounts: 99,
        ipNewAccounts: 99,
        newIp: true,
        newPaymentMethod: true,
      },
      { amountCents: 10_000_000, quantity: 100 },
      rules,
      'payment_succeeded',
    )
    expect(all.score).toBeLessThanOrEqual(1)
    expect(all.score).toBeGreaterThan(0.99)
    expect(all.reasons.every((r) => typeof r.code === 'string' && r.weight > 0 && r.detail.length > 0)).toBe(true)
  })
})
