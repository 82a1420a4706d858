// Seed: one day of checkout traffic with client IPs and payment outcomes, and PLANTED fraud among
// it, for the risk evaluation (scripts/eval-risk.ts). The scorer sees only what a live shop would
// record (order_risk: user, IP, amount, units, time; risk_payment_events: method, outcome, time);
// the labels go to a separate file and never into the database.
//   normal   — returning customers (baskets like their history) from a home IP or a carrier NAT
//              shared with others; 5 % decline once then pay, 3 % decline and give up; a flash
//              sale at 12:00 where 1,500 shoppers (a fifth of them new accounts) buy 1–2 units.
//   card_testing — fresh accounts on one IP placing 6–15 small orders in minutes, most payments
//              declined with rotating methods, a few going through at the end.
//   account_takeover — an existing customer's account, from a new IP with a new payment method,
//              spending 6–25× their usual basket within the hour.
//   bot_ring — 6–20 accounts registered hours earlier, on 1–3 IPs, each buying the sale's per-order
//              limit (2 units) in the first two minutes of the sale.
// Everything derives from `seed`, so the same seed on the same day gives the same traffic.
import { COMPLETED_ORDER_STATUSES } from '../schema'
import { insertChunked, type Rng, rng, WeightedSampler } from './prng'

export type RiskLabel = 'card_testing' | 'account_takeover' | 'bot_ring'
export type SeedRiskOptions = { orders: number; seed: number; windowStart: Date }
export type SeedRiskResult = {
  riskOrders: number
  riskPayments: number
  labels: Record<string, RiskLabel>
  windowStart: string
  windowEnd: string
}

const HOUR = 3_600_000
const MIN = 60_000

type Product = { id: string; price: number }
type Order = { id: string; user: string; ip: string; at: number; items: { p: Product; q: number }[]; status: string }
type Payment = { id: string; order: string; user: string; ip: string; method: string; outcome: 'failed' | 'succeeded'; at: number }

// biome-ignore lint/suspicious/noExplicitAny: postgres.js Sql or TransactionSql
export async function seedRiskTraffic(sql: any, opts: SeedRiskOptions): Promise<SeedRiskResult> {
  const r = rng(opts.seed, 'risk')
  const t0 = opts.windowStart.getTime()
  const t1 = t0 + 24 * HOUR
  // Every earlier order becomes a risk row too (its customer's spending pattern: paid ones count),
  // placed from the customer's home IP (homeIp below, in SQL).
  const octet = (from: number) => sql`('x' || substr(right(o.user_id::text, 6), ${from}, 2))::bit(8)::int`
  await sql`
    insert into order_risk (order_id, user_id, ip, amount_cents, quantity, currency, score, status, paid_at, created_at)
    select o.id, o.user_id, '10.' || ${octet(1)} || '.' || ${octet(3)} || '.' || ${octet(5)}, o.total_cents, coalesce(q.units, 0), o.currency, 0, 'none',
           case when o.status in ${sql([...COMPLETED_ORDER_STATUSES, 'refunded'])} then o.created_at + interval '5 minutes' end, o.created_at
    from orders o left join lateral (select sum(quantity)::int as units from order_items where order_id = o.id) q on true`
  // …and paid with the customer's own card (the same method name normalPay uses below).
  await sql`
    insert into risk_payment_events (payment_id, order_id, user_id, ip, method, outcome, at)
    select md5(order_id::text || ':payment')::uuid, order_id, user_id, ip, 'pm_card_' || right(user_id::text, 4), 'succeeded', paid_at
    from order_risk where paid_at is not null`
  const products: Product[] = (await sql`select id, price_cents::int as price from products order by id`).map(
    (x: { id: string; price: number }) => x,
  )
  const customers: string[] = (await sql`select id from users where role = 'customer' order by id`).map((x: { id: string }) => x.id)
  if (products.length < 3 || customers.length < 10 || opts.orders === 0)
    return { riskOrders: 0, riskPayments: 0, labels: {}, windowStart: new Date(t0).toISOString(), windowEnd: new Date(t1).toISOString() }
  const pool = new WeightedSampler(
    products,
    products.map(() => 1),
  )
  const cheap = products.filter((p) => p.price <= 1500)
  const saleProduct = products.find((p) => p.price >= 3000 && p.price <= 15000) ?? (products[0] as Product)

  const orders: Order[] = []
  const payments: Payment[] = []
  const labels: Record<string, RiskLabel> = {}
  const newUsers: { id: string; at: number }[] = []
  const homeIp = (u: string) =>
    `10.${Number.parseInt(u.slice(-6, -4), 16)}.${Number.parseInt(u.slice(-4, -2), 16)}.${Number.parseInt(u.slice(-2), 16)}`
  const natIp = () => `100.64.${r.int(0, 1)}.${r.int(1, 120)}`
  const clientIp = (u: string) => (r.chance(0.3) ? natIp() : homeIp(u))
  const basket = () => {
    const items = new Map<Product, number>()
    let picks = 1
    while (picks < 8 && r.chance(0.55)) picks++
    for (let k = 0; k < picks; k++) items.set(pool.sample(r), r.chance(0.8) ? 1 : r.chance(0.75) ? 2 : 3)
    return [...items].map(([p, q]) => ({ p, q }))
  }
  const place = (user: string, ip: string, at: number, items: Order['items'], pay: (o: Order) => void, label?: RiskLabel) => {
    const o: Order = { id: r.uuidv7(at), user, ip, at, items, status: 'expired' }
    orders.push(o)
    if (label) labels[o.id] = label
    pay(o)
  }
  const attempt = (o: Order, method: string, outcome: Payment['outcome'], at: number) => {
    payments.push({ id: r.uuidv7(at), order: o.id, user: o.user, ip: o.ip, method, outcome, at })
    if (outcome === 'succeeded') o.status = 'delivered'
  }
  const normalPay = (o: Order) => {
    const card = `pm_card_${o.user.slice(-4)}`
    const at = o.at + r.int(10, 120) * 1000
    const roll = r.next()
    if (roll < 0.92) attempt(o, card, 'succeeded', at)
    else if (roll < 0.97) {
      attempt(o, card, 'failed', at)
      attempt(o, r.chance(0.5) ? card : `pm_card_alt_${o.user.slice(-4)}`, 'succeeded', at + r.int(30, 300) * 1000)
    } else attempt(o, card, 'failed', at)
  }
  const newAccount = (at: number) => {
    const id = r.uuidv7(at)
    newUsers.push({ id, at })
    return id
  }

  // Normal traffic, spread over the day with an evening peak.
  const shoppers = new WeightedSampler(
    customers,
    customers.map(() => 0.05 + r.next() ** 3),
  )
  for (let i = 0; i < opts.orders; i++) {
    const hour = r.chance(0.4) ? 17 + r.next() * 5 : r.next() * 24
    const u = shoppers.sample(r)
    place(u, clientIp(u), t0 + hour * HOUR, basket(), normalPay)
  }
  // The flash sale at 12:00: 1,500 shoppers in 30 minutes, a fifth of them new accounts.
  const saleAt = t0 + 12 * HOUR
  for (let i = 0; i < 1500; i++) {
    const at = saleAt + r.next() ** 2 * 30 * MIN
    const u = r.chance(0.2) ? newAccount(at - r.int(5, 72 * 60) * MIN) : shoppers.sample(r)
    place(u, clientIp(u), at, [{ p: saleProduct, q: r.chance(0.7) ? 1 : 2 }], normalPay)
  }

  // card_testing bursts
  for (let b = 0; b < 25; b++) {
    const start = t0 + r.next() * 23 * HOUR
    const ip = `45.${r.int(1, 250)}.${r.int(1, 250)}.${r.int(1, 250)}`
    const accounts = Array.from({ length: r.int(1, 3) }, () => newAccount(start - r.int(1, 30) * MIN))
    const n = r.int(6, 15)
    for (let k = 0; k < n; k++) {
      const at = start + (k / n) * r.int(5, 20) * MIN
      const p = cheap.length ? r.pick(cheap) : pool.sample(r)
      place(
        r.pick(accounts),
        ip,
        at,
        [{ p, q: 1 }],
        (o) => {
          const declines = k < n - 2 ? r.int(1, 3) : r.int(0, 1)
          for (let d = 0; d < declines; d++) attempt(o, `pm_stolen_${b}_${k}_${d}`, 'failed', at + (d + 1) * 15_000)
          if (k >= n - 3 && r.chance(0.7)) attempt(o, `pm_stolen_${b}_${k}_ok`, 'succeeded', at + (declines + 1) * 15_000)
        },
        'card_testing',
      )
    }
  }

  // account_takeover spikes: customers with a history, spending far above it from a new IP.
  const history: { user_id: string; n: number; median: number }[] = await sql`
    select user_id, count(*)::int as n, (percentile_cont(0.5) within group (order by amount_cents))::float8 as median
    from order_risk where paid_at is not null group by user_id having count(*) >= 4 order by user_id`
  for (let v = 0; v < Math.min(80, history.length); v++) {
    const victim = history[r.int(0, history.length - 1)] as (typeof history)[number]
    const start = t0 + r.next() * 23 * HOUR
    const ip = `185.${r.int(1, 250)}.${r.int(1, 250)}.${r.int(1, 250)}`
    const target = victim.median * (6 + r.next() * 19)
    for (let k = 0, n = r.int(1, 3); k < n; k++) {
      const items: Order['items'] = []
      let total = 0
      while (total < target && items.length < 20) {
        const p = pool.sample(r)
        const q = r.int(1, 4)
        items.push({ p, q })
        total += p.price * q
      }
      place(
        victim.user_id,
        ip,
        start + k * r.int(3, 20) * MIN,
        items,
        (o) => attempt(o, `pm_ato_${v}`, r.chance(0.85) ? 'succeeded' : 'failed', o.at + 20_000),
        'account_takeover',
      )
    }
  }

  // bot rings in the sale
  for (let g = 0; g < 12; g++) {
    const ips = Array.from({ length: r.int(1, 3) }, () => `91.${r.int(1, 250)}.${r.int(1, 250)}.${r.int(1, 250)}`)
    for (let a = 0, n = r.int(6, 20); a < n; a++) {
      const at = saleAt + r.next() * 2 * MIN
      const u = newAccount(saleAt - r.int(60, 48 * 60) * MIN)
      place(u, r.pick(ips), at, [{ p: saleProduct, q: 2 }], (o) => attempt(o, `pm_ring_${g}_${a}`, 'succeeded', at + 5_000), 'bot_ring')
    }
  }

  await writeTraffic(sql, r, orders, payments, newUsers)
  return {
    riskOrders: orders.length,
    riskPayments: payments.length,
    labels,
    windowStart: new Date(t0).toISOString(),
    windowEnd: new Date(t1).toISOString(),
  }
}

// biome-ignore lint/suspicious/noExplicitAny: postgres.js Sql or TransactionSql
async function writeTraffic(sql: any, r: Rng, orders: Order[], payments: Payment[], newUsers: { id: string; at: number }[]) {
  const [{ hash }] = await sql`select password_hash as hash from users where role = 'customer' limit 1`
  await insertChunked(
    sql,
    'users',
    newUsers.map((u, i) => ({
      id: u.id,
      email: `seed-new-${i + 1}-${r.int(0, 1e9)}@example.net`,
      name: 'New Customer',
      password_hash: hash,
      role: 'customer',
      created_at: new Date(u.at),
      updated_at: new Date(u.at),
    })),
  )
  orders.sort((a, b) => a.at - b.at)
  const paidAt = new Map<string, number>()
  for (const p of payments) if (p.outcome === 'succeeded') paidAt.set(p.order, p.at)
  const total = (o: Order) => o.items.reduce((s, i) => s + i.p.price * i.q, 0)
  await insertChunked(
    sql,
    'orders',
    orders.map((o) => ({
      id: o.id,
      user_id: o.user,
      status: o.status,
      total_cents: total(o),
      currency: 'USD',
      reservation_expires_at: new Date(o.at + 15 * MIN),
      created_at: new Date(o.at),
      updated_at: new Date(paidAt.get(o.id) ?? o.at + 15 * MIN),
    })),
  )
  await insertChunked(
    sql,
    'order_items',
    orders.flatMap((o) => o.items.map((i) => ({ order_id: o.id, product_id: i.p.id, quantity: i.q, unit_price_cents: i.p.price }))),
  )
  await insertChunked(
    sql,
    'order_risk',
    orders.map((o) => ({
      order_id: o.id,
      user_id: o.user,
      ip: o.ip,
      amount_cents: total(o),
      quantity: o.items.reduce((s, i) => s + i.q, 0),
      currency: 'USD',
      score: 0,
      status: 'none',
      paid_at: paidAt.has(o.id) ? new Date(paidAt.get(o.id) as number) : null,
      created_at: new Date(o.at),
    })),
  )
  await insertChunked(
    sql,
    'risk_payment_events',
    payments.map((p) => ({
      payment_id: p.id,
      order_id: p.order,
      user_id: p.user,
      ip: p.ip,
      method: p.method,
      outcome: p.outcome,
      at: new Date(p.at),
    })),
  )
}
