// Analytics: every figure equals a direct SQL recomputation over orders/order_items — after the
// rebuild and after the event path (outbox → analytics job) — including refunds, cancellations,
// windows that start mid-hour, and day buckets that cross midnight in a non-UTC zone (Asia/Kolkata,
// +05:30: its midnight falls inside a UTC hour). Admin-only routes, CSV exports.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { relayOnce } from '../jobs/outbox-relay'
import { startWorkerSet, type WorkerSet } from '../jobs/worker'
import { db, sql } from '../src/infra/db'
import { customerReport, purchasePatterns } from '../src/modules/analytics/customers'
import { applyOrderEvent, rebuildRollups, rollupDrift } from '../src/modules/analytics/rollup'
import { asDate, categorySales, overview, salesSeries, topProducts, windowBounds } from '../src/modules/analytics/service'
import { transition } from '../src/modules/orders/state'
import { createUser, req } from './helpers'
import { waitFor } from './jobs-helpers'
import { order, productWithStock } from './orders-fixtures'

const SOLD = ['paid', 'fulfilled', 'shipped', 'delivered', 'refunded']
const H = 3_600_000
// A clock 37 min 13 s past the hour: a rolling 24 h window then starts and ends mid-hour.
const NOW = new Date(Math.floor(Date.now() / H) * H - 2 * H + 37 * 60_000 + 13_000)

let admin: Awaited<ReturnType<typeof createUser>>
let customer: Awaited<ReturnType<typeof createUser>>
const buyers: string[] = []
const productIds: string[] = []
let rootCat = ''
let childCat = ''

async function insertOrder(userId: string, at: Date, status: string, lines: [string, number, number][]) {
  const id = Bun.randomUUIDv7()
  const total = lines.reduce((s, [, q, p]) => s + q * p, 0)
  await sql`insert into orders (id, user_id, status, total_cents, currency, reservation_expires_at, created_at, updated_at)
    values (${id}, ${userId}, ${status}, ${total}, 'USD', ${at.toISOString()}, ${at.toISOString()}, ${new Date(NOW.getTime() - 3600_000).toISOString()})`
  for (const [productId, q, p] of lines)
    await sql`insert into order_items (order_id, product_id, quantity, unit_price_cents) values (${id}, ${productId}, ${q}, ${p})`
  return id
}

/** The figures of [a, b), straight from orders/order_items. */
async function raw(from: Date, to: Date) {
  const a = from.toISOString()
  const b = to.toISOString()
  const [r] = await sql`
    with o as (select * from orders where created_at >= ${a} and created_at < ${b})
    select coalesce(sum(total_cents) filter (where status in ${sql(SOLD)}), 0)::bigint as revenue,
      count(*) filter (where status in ${sql(SOLD)})::int as orders,
      coalesce((select sum(i.quantity) from order_items i join o on o.id = i.order_id where o.status in ${sql(SOLD)}), 0)::int as units,
      coalesce(sum(total_cents) filter (where status = 'refunded'), 0)::bigint as refunds,
      count(*) filter (where status = 'cancelled')::int as cancellations,
      count(distinct user_id) filter (where status in ${sql(SOLD)})::int as active,
      (select count(*) from (select user_id, min(created_at) as first from orders where status in ${sql(SOLD)} group by user_id) f
        where f.first >= ${a} and f.first < ${b})::int as fresh
    from o`
  const x = r as Record<string, string | number>
  const orders = Number(x.orders)
  return {
    revenueCents: Number(x.revenue),
    orders,
    unitsSold: Number(x.units),
    averageOrderCents: orders ? Math.round(Number(x.revenue) / orders) : 0,
    activeCustomers: Number(x.active),
    newCustomers: Number(x.fresh),
    returningCustomers: Number(x.active) - Number(x.fresh),
    refundsCents: Number(x.refunds),
    cancellations: Number(x.cancellations),
  }
}

async function expectOverviewMatches(window: '24h' | '7d' | '30d', tz: string, now = NOW) {
  const o = await overview(window, tz, now)
  const { window: _w, from, to, previous, ...cur } = o
  expect(cur).toEqual(await raw(new Date(from), new Date(to)))
  const { from: pf, to: pt, ...prev } = previous
  expect(pt).toBe(from)
  expect(prev).toEqual(await raw(new Date(pf), new Date(pt)))
  return o
}

beforeAll(async () => {
  admin = await createUser('admin')
  customer = await createUser('customer')
  for (let i = 0; i < 5; i++) buyers.push((await createUser('customer')).id)
  const [root] =
    await sql`insert into categories (id, name, slug) values (${Bun.randomUUIDv7()}, 'Root', ${`root-${Date.now()}`}) returning id`
  const [child] =
    await sql`insert into categories (id, name, slug, parent_id) values (${Bun.randomUUIDv7()}, 'Child', ${`child-${Date.now()}`}, ${root!.id}) returning id`
  rootCat = root!.id
  childCat = child!.id
  for (let i = 0; i < 3; i++) {
    const id = await productWithStock(1000, 5)
    const name = i === 0 ? 'Cable, "braided"\nwith newline' : `Product ${i}`
    await sql`update products set category_id = ${i === 2 ? rootCat : childCat}, name = ${name} where id = ${id}`
    productIds.push(id)
  }
  const [p0, p1, p2] = productIds as [string, string, string]
  const [b0, b1, b2, b3, b4] = buyers as [string, string, string, string, string]
  const ago = (ms: number) => new Date(NOW.getTime() - ms)
  // Around the 24 h window's start (mid-hour): one just inside, one just outside, same UTC hour.
  await insertOrder(b0, ago(24 * H - 60_000), 'paid', [
    [p0, 2, 1000],
    [p1, 1, 550],
  ])
  await insertOrder(b0, ago(24 * H + 60_000), 'delivered', [[p1, 3, 550]])
  // Inside the window: refund, cancellation, unpaid, expired, a second purchase.
  await insertOrder(b1, ago(5 * H), 'refunded', [[p2, 1, 9999]])
  await insertOrder(b2, ago(3 * H), 'cancelled', [[p0, 1, 1000]])
  await insertOrder(b2, ago(2 * H), 'pending_payment', [[p0, 1, 1000]])
  await insertOrder(b3, ago(90 * 60_000), 'expired', [[p1, 1, 550]])
  await insertOrder(b0, ago(10 * 60_000), 'shipped', [[p2, 2, 9999]])
  await insertOrder(b4, ago(20 * 60_000), 'delivered', [[p1, 1, 550]]) // a first-time buyer
  // Just before the clock's current hour ends (the partial last hour).
  await insertOrder(b3, ago(60_000), 'paid', [[p0, 1, 1000]])
  // Previous windows and older.
  await insertOrder(b1, ago(30 * H), 'delivered', [[p1, 1, 550]])
  await insertOrder(b2, ago(3 * 24 * H), 'refunded', [[p0, 4, 1000]])
  await insertOrder(b3, ago(9 * 24 * H), 'delivered', [[p2, 1, 9999]])
  await insertOrder(b1, ago(40 * 24 * H), 'cancelled', [[p0, 1, 1000]])
  // Either side of midnight in Asia/Kolkata (18:30 UTC), in one UTC hour, two days before NOW.
  const [k] =
    await sql`select ((date_trunc('day', ${NOW.toISOString()}::timestamptz at time zone 'Asia/Kolkata') - interval '2 days') at time zone 'Asia/Kolkata') as midnight`
  const midnight = asDate((k as { midnight: string }).midnight).getTime()
  await insertOrder(b2, new Date(midnight - 10 * 60_000), 'delivered', [[p1, 2, 550]])
  await insertOrder(b3, new Date(midnight + 10 * 60_000), 'paid', [[p2, 1, 9999]])
  await insertOrder(b3, new Date(midnight + 20 * 60_000), 'cancelled', [[p0, 1, 1000]])
})

describe('rollups rebuilt from the source tables', () => {
  test('the first build reports no drift; overview equals the raw recomputation for every window and zone', async () => {
    const r = await rebuildRollups(0)
    expect(r.drift).toBe(0)
    for (const w of ['24h', '7d', '30d'] as const)
      for (const tz of ['UTC', 'Asia/Kolkata', 'America/New_York']) await expectOverviewMatches(w, tz)
    const o = await overview('24h', 'UTC', NOW)
    // The fixture actually exercises the figures (not all zero).
    expect(o.refundsCents).toBe(9999)
    expect(o.cancellations).toBe(1)
    expect(o.newCustomers).toBeGreaterThan(0)
    expect(o.returningCustomers).toBeGreaterThan(0)
    expect(new Date(o.from).getUTCMinutes()).toBe(37) // a window that starts mid-hour
    const week = await overview('7d', 'Asia/Kolkata', NOW)
    // 7d starts at a local midnight: 18:30 UTC in Kolkata.
    expect(new Date(week.from).getUTCHours() * 60 + new Date(week.from).getUTCMinutes()).toBe(18 * 60 + 30)
  })

  test('day series in Asia/Kolkata: zero-filled, split at local midnight inside a UTC hour, equal to raw SQL', async () => {
    const [b] =
      await sql`select ((date_trunc('day', ${NOW.toISOString()}::timestamptz at time zone 'Asia/Kolkata') - interval '4 days') at time zone 'Asia/Kolkata') as f`
    const from = asDate((b as { f: string }).f)
    const to = NOW
    const items = await salesSeries('day', from, to, 'Asia/Kolkata')
    expect(items.length).toBe(5)
    const rawRows = await sql<{ day: Date; revenue: string; orders: number; units: number }[]>`
      select (date_trunc('day', o.created_at at time zone 'Asia/Kolkata') at time zone 'Asia/Kolkata') as day,
        sum(o.total_cents)::bigint as revenue, count(*)::int as orders,
        sum((select sum(quantity) from order_items i where i.order_id = o.id))::int as units
      from orders o where o.status in ${sql(SOLD)} and o.created_at >= ${from.toISOString()} and o.created_at < ${to.toISOString()} group by 1`
    const byDay = new Map(rawRows.map((r) => [asDate(r.day).toISOString(), r]))
    for (const it of items) {
      const r = byDay.get(it.start)
      expect({ s: it.start, revenue: it.revenueCents, orders: it.orders, units: it.units }).toEqual({
        s: it.start,
        revenue: Number(r?.revenue ?? 0),
        orders: r?.orders ?? 0,
        units: r?.units ?? 0,
      })
    }
    expect(items.filter((i) => i.orders === 0).length).toBeGreaterThan(0) // zero-filled
    expect(items.reduce((s, i) => s + i.orders, 0)).toBe(rawRows.reduce((s, r) => s + r.orders, 0))
    // Hourly over the same range: every bucket sums to the same totals.
    const hours = await salesSeries('hour', from, to, 'Asia/Kolkata')
    expect(hours.reduce((s, i) => s + i.revenueCents, 0)).toBe(items.reduce((s, i) => s + i.revenueCents, 0))
    expect(new Date(hours[0]!.start).getUTCMinutes()).toBe(30) // local hours of a +05:30 zone
  })

  test('top products, categories (subtree totals) and customer patterns equal raw SQL', async () => {
    const w = await windowBounds('30d', 'UTC', NOW)
    const top = await topProducts('30d', 'revenue', 10, 'UTC', NOW)
    const rawTop = await sql<{ productId: string; revenue: string; units: string }[]>`
      select i.product_id as "productId", sum(i.quantity * i.unit_price_cents)::bigint as revenue, sum(i.quantity)::bigint as units
      from order_items i join orders o on o.id = i.order_id
      where o.status in ${sql(SOLD)} and o.created_at >= ${w.from.toISOString()} and o.created_at < ${w.to.toISOString()}
      group by 1 order by 2 desc, 3 desc, 1`
    expect(top.items.map((i) => [i.productId, i.revenueCents, i.units])).toEqual(
      rawTop.map((r) => [r.productId, Number(r.revenue), Number(r.units)]),
    )
    const byUnits = await topProducts('30d', 'units', 1, 'UTC', NOW)
    expect(byUnits.items[0]!.units).toBe(Math.max(...rawTop.map((r) => Number(r.units))))

    const cats = await categorySales('30d', 'UTC', NOW)
    const sumOf = (ids: string[]) => rawTop.filter((r) => ids.includes(r.productId)).reduce((s, r) => s + Number(r.revenue), 0)
    const root = cats.items.find((c) => c.categoryId === rootCat)!
    const child = cats.items.find((c) => c.categoryId === childCat)!
    expect(child.revenueCents).toBe(sumOf([productIds[0]!, productIds[1]!]))
    expect(child.subtreeRevenueCents).toBe(child.revenueCents)
    expect(root.revenueCents).toBe(sumOf([productIds[2]!]))
    expect(root.subtreeRevenueCents).toBe(sumOf(productIds))

    const report = await customerReport('30d', 10, 'UTC', NOW)
    const rawCust = await sql<{ userId: string; orders: number; revenue: string; first: Date; last: Date }[]>`
      select user_id as "userId", count(*)::int as orders, sum(total_cents)::bigint as revenue, min(created_at) as first, max(created_at) as last
      from orders where status in ${sql(SOLD)} and created_at >= ${w.from.toISOString()} and created_at < ${w.to.toISOString()} group by 1 order by 3 desc, 1`
    expect(report.customers).toBe(rawCust.length)
    expect(report.topCustomers.map((c) => [c.userId, c.orders, c.revenueCents, c.lastPurchaseAt])).toEqual(
      rawCust.map((c) => [c.userId, c.orders, Number(c.revenue), asDate(c.last).toISOString()]),
    )
    expect(report.distribution.reduce((s, d) => s + d.customers, 0)).toBe(rawCust.length)
    const pat = await purchasePatterns([buyers[0]!], w.from, w.to)
    const mine = rawCust.find((c) => c.userId === buyers[0])!
    expect(pat[0]!.frequencyDays).toBeCloseTo(
      (asDate(mine.last).getTime() - asDate(mine.first).getTime()) / 86_400_000 / (mine.orders - 1),
      1,
    )
  })
})

describe('the event path: outbox → analytics job → rollups', () => {
  let workers: WorkerSet
  beforeAll(async () => {
    workers = await startWorkerSet({ queues: ['analytics'], relay: false, schedules: false })
  })
  afterAll(async () => {
    await workers?.close()
  })

  test('orders placed, paid, refunded and cancelled through the state machine show up exactly; drift stays 0', async () => {
    const u = await createUser('customer')
    const now = () => new Date(Date.now() + 1000)
    const placed: string[] = []
    for (let i = 0; i < 4; i++) {
      const r = await order(u.token, [{ productId: productIds[i % 3]!, quantity: i + 1 }])
      expect(r.status).toBe(201)
      placed.push(r.body.id)
    }
    const [a, b, c] = placed as [string, string, string]
    const move = (id: string, from: string, to: string) =>
      db.transaction((tx) => transition(tx, { orderId: id, from: from as never, to: to as never, actor: 'system:test' }))
    await move(a, 'pending_payment', 'paid')
    await move(b, 'pending_payment', 'paid')
    await move(b, 'paid', 'refunded')
    await move(c, 'pending_payment', 'cancelled')
    while ((await relayOnce()) > 0) {}
    await waitFor('analytics to apply every event', async () => {
      const [r] = await sql`select count(*)::int as n from outbox_events e
        where e.type in ('order.created', 'order.paid', 'order.refunded', 'order.cancelled')
          and e.aggregate_id = any(${placed}::uuid[]) and not exists (select 1 from analytics_applied_events x where x.event_id = e.id)`
      return (r as { n: number }).n === 0
    })
    const o = await expectOverviewMatches('24h', 'Europe/Berlin', now())
    expect(o.refundsCents).toBeGreaterThan(0)
    // Replaying an event is a no-op; a new event for an unchanged order changes nothing.
    const [ev] = await sql`select id from outbox_events where aggregate_id = ${a} and type = 'order.paid'`
    expect(await applyOrderEvent((ev as { id: string }).id, a)).toBe('duplicate')
    expect(await applyOrderEvent(Bun.randomUUIDv7(), a)).toBe('unchanged')
    await expectOverviewMatches('24h', 'UTC', now())
    const r = await rebuildRollups(0)
    expect(r.drift).toBe(0)
    expect((await rollupDrift.get()).values[0]?.value).toBe(0)
  })

  test('a rollup that was tampered with is reported as drift and repaired', async () => {
    await sql`update analytics_hourly set revenue_cents = revenue_cents + 1 where hour = (select max(hour) from analytics_hourly)`
    const r = await rebuildRollups(0)
    expect(r.rollupDrift).toBe(1)
    expect((await rebuildRollups(0)).drift).toBe(0)
    await expectOverviewMatches('24h', 'UTC', new Date(Date.now() + 1000))
  })
})

describe('HTTP surface', () => {
  const routes = [
    '/api/v1/admin/analytics/overview',
    '/api/v1/admin/analytics/sales',
    '/api/v1/admin/analytics/top-products',
    '/api/v1/admin/analytics/categories',
    '/api/v1/admin/analytics/customers',
    '/api/v1/admin/analytics/inventory',
    '/api/v1/admin/analytics/export/orders.csv',
    '/api/v1/admin/analytics/export/sales.csv',
  ]
  test('customers get 403, anonymous 401, on every admin route', async () => {
    for (const path of [...routes]) {
      expect((await req('GET', path, { token: customer.token })).status).toBe(403)
      expect((await req('GET', path)).status).toBe(401)
    }
    expect((await req('POST', '/api/v1/admin/live/ticket', { token: customer.token })).status).toBe(403)
  })

  test('admins get the documented fields; bad input is a 422 naming the field', async () => {
    const ov = await req('GET', '/api/v1/admin/analytics/overview?window=7d&tz=Asia/Kolkata', { token: admin.token })
    expect(ov.status).toBe(200)
    for (const f of [
      'window',
      'revenueCents',
      'orders',
      'unitsSold',
      'averageOrderCents',
      'activeCustomers',
      'newCustomers',
      'returningCustomers',
      'refundsCents',
      'cancellations',
    ])
      expect(ov.body).toHaveProperty(f)
    expect(Object.keys(ov.body.previous)).toContain('revenueCents')
    const s = await req('GET', '/api/v1/admin/analytics/sales?granularity=day&from=2026-01-01&to=2026-01-08&tz=Europe/Berlin', {
      token: admin.token,
    })
    expect(s.status).toBe(200)
    expect(s.body.items.length).toBe(7)
    expect((await req('GET', '/api/v1/admin/analytics/top-products?by=units&limit=3', { token: admin.token })).status).toBe(200)
    const inv = await req('GET', '/api/v1/admin/analytics/inventory', { token: admin.token })
    expect(inv.status).toBe(200)
    expect(inv.body.stockValueAtPriceCents).toBeGreaterThan(0)
    const bad = [
      ['/api/v1/admin/analytics/overview?tz=Mars/Olympus', 'query.tz'],
      ['/api/v1/admin/analytics/overview?window=2d', 'query.window'],
      ['/api/v1/admin/analytics/top-products?limit=1000', 'query.limit'],
      ['/api/v1/admin/analytics/sales?from=yesterday', 'query.from'],
      ['/api/v1/admin/analytics/sales?granularity=hour&from=2020-01-01&to=2026-01-01', 'query.to'],
      ['/api/v1/admin/analytics/sales?from=2026-01-02&to=2026-01-01', 'query.from'],
    ] as const
    for (const [path, field] of bad) {
      const r = await req('GET', path, { token: admin.token })
      expect({ path, status: r.status }).toEqual({ path, status: 422 })
      expect(r.headers.get('content-type')).toContain('application/problem+json')
      expect(JSON.stringify(r.body.errors ?? r.body)).toContain(field)
    }
  })

  test('CSV exports: RFC 4180 quoting, CRLF, content type and disposition; one row per order / sold line', async () => {
    const from = new Date(NOW.getTime() - 60 * 24 * H).toISOString()
    const to = new Date(Date.now() + H).toISOString()
    const r = await req('GET', `/api/v1/admin/analytics/export/sales.csv?from=${from}&to=${to}`, { token: admin.token })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toStartWith('text/csv')
    expect(r.headers.get('content-disposition')).toMatch(/^attachment; filename="sales-.*\.csv"$/)
    expect(
      r.text.startsWith('order_id,created_at,product_id,product_name,quantity,unit_price_cents,line_total_cents,order_status\r\n'),
    ).toBe(true)
    expect(r.text).toContain('"Cable, ""braided""\nwith newline"')
    const [{ n }] = (await sql`select count(*)::int as n from order_items i join orders o on o.id = i.order_id
      where o.status in ${sql(SOLD)} and o.created_at >= ${from} and o.created_at < ${to}`) as unknown as [{ n: number }]
    // Records = CRLF-terminated lines minus the header (the quoted name holds a bare LF, not CRLF).
    expect(r.text.split('\r\n').length - 2).toBe(n)
    const o = await req('GET', `/api/v1/admin/analytics/export/orders.csv?from=${from}&to=${to}`, { token: admin.token })
    expect(o.status).toBe(200)
    const [{ m }] = (await sql`select count(*)::int as m from orders where created_at >= ${from} and created_at < ${to}`) as unknown as [
      { m: number },
    ]
    expect(o.text.split('\r\n').length - 2).toBe(m)
  })
})
