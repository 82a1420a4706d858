// Inventory planning (issue 26) against real Postgres and Redis: suppliers and the computed
// reliability, offers, the purchase-order state machine and its refusals, receiving through the
// inventory module (idempotent, concurrent receipts never over-receive), forecasts on planted
// demand with a stock-out, reorder suggestions (supplier choice, MOQ/packs, accept → grouped
// drafts, dismiss), re-planning within seconds (stock.low, the forecast reorder point, big sales:
// relay + planning worker) and planning alerts in GET /admin/alerts. Customers get 403 everywhere.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { relayOnce, routeEvent } from '../jobs/outbox-relay'
import { processPlanning } from '../jobs/processors/planning'
import { startWorkerSet, type WorkerSet } from '../jobs/worker'
import { sql } from '../src/infra/db'
import { queue } from '../src/infra/queues'
import { receivePurchaseOrder } from '../src/modules/planning/purchase-orders'
import { suggestForProduct, sweepAlerts } from '../src/modules/planning/replenish'
import { createUser, req } from './helpers'
import { waitFor } from './jobs-helpers'

let admin: string
let customer: string
const DAY = 86_400_000

/** A product with `stock` units that entered the ledger 200 days ago (so history before today is in stock). */
async function product(stock: number, reorderPoint = 10): Promise<string> {
  const id = Bun.randomUUIDv7()
  await sql`insert into products (id, name, price_cents, currency) values (${id}, ${`Plan ${id.slice(-6)}`}, 1000, 'USD')`
  await sql`insert into inventory (product_id, on_hand, reorder_point) values (${id}, ${stock}, ${reorderPoint})`
  if (stock > 0)
    await sql`insert into inventory_movements (id, product_id, kind, on_hand_delta, reason, created_at)
      values (${Bun.randomUUIDv7()}, ${id}, 'restock', ${stock}, 'test', ${new Date(Date.now() - 200 * DAY).toISOString()})`
  return id
}

/** One delivered order per day with `units(d)` of the product, d = days ago (1 = yesterday). */
async function demand(productId: string, days: number, units: (daysAgo: number) => number): Promise<void> {
  const [u] = await sql<{ id: string }[]>`select id from users order by id limit 1`
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate())
  for (let d = days; d >= 1; d--) {
    const q = units(d)
    if (q <= 0) continue
    const id = Bun.randomUUIDv7()
    const at = new Date(today - d * DAY + 12 * 3_600_000).toISOString()
    await sql`insert into orders (id, user_id, status, total_cents, currency, reservation_expires_at, created_at, updated_at)
      values (${id}, ${u?.id as string}, 'delivered', ${q * 1000}, 'USD', ${at}, ${at}, ${at})`
    await sql`insert into order_items (order_id, product_id, quantity, unit_price_cents) values (${id}, ${productId}, ${q}, 1000)`
  }
}

const stockOf = async (id: string) => (await sql<{ on_hand: number }[]>`select on_hand from inventory where product_id = ${id}`)[0]?.on_hand
const as = (token: string) => ({
  get: (p: string) => req('GET', `/api/v1${p}`, { token }),
  post: (p: string, body?: unknown, key?: string) =>
    req('POST', `/api/v1${p}`, { token, body: body ?? {}, headers: key ? { 'idempotency-key': key } : {} }),
  patch: (p: string, body: unknown) => req('PATCH', `/api/v1${p}`, { token, body }),
  del: (p: string) => req('DELETE', `/api/v1${p}`, { token }),
})
const fields = (r: { body: { errors?: { field: string }[] } }) => (r.body.errors ?? []).map((e) => e.field)

async function supplier(leadTimeDays = 5, name = 'Acme'): Promise<string> {
  const r = await as(admin).post('/admin/suppliers', { name, contactEmail: 'buy@acme.test', leadTimeDays })
  expect(r.status).toBe(201)
  return r.body.id
}
async function offer(
  supplierId: string,
  productId: string,
  o: Partial<{ unitCostCents: number; minOrderQuantity: number; packSize: number; leadTimeDays: number }> = {},
) {
  const r = await as(admin).post(`/admin/suppliers/${supplierId}/offers`, {
    productId,
    unitCostCents: 500,
    minOrderQuantity: 1,
    packSize: 1,
    ...o,
  })
  expect(r.status).toBe(201)
  return r.body
}
async function sentPo(supplierId: string, lines: { productId: string; quantity: number }[]): Promise<string> {
  const c = await as(admin).post('/admin/purchase-orders', { supplierId, lines: lines.map((l) => ({ ...l, unitCostCents: 400 })) })
  expect(c.status).toBe(201)
  expect((await as(admin).post(`/admin/purchase-orders/${c.body.id}/send`)).status).toBe(200)
  return c.body.id
}

beforeAll(async () => {
  admin = (await createUser('admin')).token
  customer = (await createUser('customer')).token
})

describe('suppliers and offers', () => {
  test('CRUD; reliability is read-only (sending it → 422 naming it); bad fields → 422 naming them', async () => {
    const a = as(admin)
    const bad = await a.post('/admin/suppliers', { name: 'X', contactEmail: 'x@y.test', leadTimeDays: 3, reliability: 1 })
    expect(bad.status).toBe(422)
    expect(bad.headers.get('content-type')).toContain('application/problem+json')
    expect(fields(bad)).toContain('reliability')
    const invalid = await a.post('/admin/suppliers', { name: '', contactEmail: 'nope', leadTimeDays: -1 })
    expect(invalid.status).toBe(422)
    expect(fields(invalid)).toEqual(expect.arrayContaining(['name', 'contactEmail', 'leadTimeDays']))
    const id = await supplier(7, 'Crud Co')
    const got = await a.get(`/admin/suppliers/${id}`)
    expect(got.body).toMatchObject({ id, name: 'Crud Co', leadTimeDays: 7, reliability: null, purchaseOrdersEvaluated: 0 })
    const patched = await a.patch(`/admin/suppliers/${id}`, { leadTimeDays: 9 })
    expect(patched.body.leadTimeDays).toBe(9)
    expect(fields(await a.patch(`/admin/suppliers/${id}`, { reliability: 0.5 }))).toContain('reliability')
    expect((await a.get('/admin/suppliers?limit=100')).body.items.map((s: { id: string }) => s.id)).toContain(id)
    expect((await a.del(`/admin/suppliers/${id}`)).status).toBe(204)
    expect((await a.get(`/admin/suppliers/${id}`)).status).toBe(404)
  })

  test('offers: 201, duplicate → 409, unknown product → 422, unknown supplier → 404, bad numbers → 422', async () => {
    const s = await supplier()
    const p = await product(10)
    const o = await offer(s, p, { minOrderQuantity: 12, packSize: 6 })
    expect(o).toMatchObject({ supplierId: s, productId: p, minOrderQuantity: 12, packSize: 6, leadTimeDays: null })
    expect(
      (await as(admin).post(`/admin/suppliers/${s}/offers`, { productId: p, unitCostCents: 1, minOrderQuantity: 1, packSize: 1 })).status,
    ).toBe(409)
    const unknown = await as(admin).post(`/admin/suppliers/${s}/offers`, {
      productId: Bun.randomUUIDv7(),
      unitCostCents: 1,
      minOrderQuantity: 1,
      packSize: 1,
    })
    expect(unknown.status).toBe(422)
    expect(fields(unknown)).toEqual(['productId'])
    const zero = await as(admin).post(`/admin/suppliers/${s}/offers`, {
      productId: p,
      unitCostCents: 0,
      minOrderQuantity: 0,
      packSize: 1.5,
    })
    expect(fields(zero)).toEqual(expect.arrayContaining(['unitCostCents', 'minOrderQuantity', 'packSize']))
    expect(
      (
        await as(admin).post(`/admin/suppliers/${Bun.randomUUIDv7()}/offers`, {
          productId: p,
          unitCostCents: 1,
          minOrderQuantity: 1,
          packSize: 1,
        })
      ).status,
    ).toBe(404)
    expect((await as(admin).get(`/admin/suppliers/${s}/offers`)).body.items).toHaveLength(1)
    // A supplier with purchase orders is its own record: not deletable.
    await sentPo(s, [{ productId: p, quantity: 1 }])
    expect((await as(admin).del(`/admin/suppliers/${s}`)).status).toBe(409)
  })
})

describe('purchase orders', () => {
  test('draft → sent → partially_received → received → closed, with every refusal named', async () => {
    const a = as(admin)
    const s = await supplier(4)
    const p = await product(5)
    const q = await product(0)
    await offer(s, p, { unitCostCents: 250 })
    const noPrice = await a.post('/admin/purchase-orders', { supplierId: s, lines: [{ productId: q, quantity: 1 }] })
    expect(noPrice.status).toBe(422)
    expect(fields(noPrice)).toEqual(['lines.0.unitCostCents'])
    const dup = await a.post('/admin/purchase-orders', {
      supplierId: s,
      lines: [
        { productId: p, quantity: 1 },
        { productId: p, quantity: 2 },
      ],
    })
    expect(fields(dup)).toEqual(['lines.1.productId'])
    expect(fields(await a.post('/admin/purchase-orders', { supplierId: s, lines: [{ productId: p, quantity: 0 }] }))).toEqual([
      'lines.0.quantity',
    ])
    expect(
      fields(await a.post('/admin/purchase-orders', { supplierId: s, lines: [{ productId: p, quantity: 1 }], expectedAt: 'tomorrow' })),
    ).toEqual(['expectedAt'])
    expect(
      fields(
        await a.post('/admin/purchase-orders', {
          supplierId: s,
          lines: [{ productId: p, quantity: 1 }],
          expectedAt: '2001-01-01T00:00:00Z',
        }),
      ),
    ).toEqual(['expectedAt'])
    expect(
      fields(await a.post('/admin/purchase-orders', { supplierId: Bun.randomUUIDv7(), lines: [{ productId: p, quantity: 1 }] })),
    ).toEqual(['supplierId'])

    const created = await a.post('/admin/purchase-orders', {
      supplierId: s,
      lines: [
        { productId: p, quantity: 10 },
        { productId: q, quantity: 2, unitCostCents: 100 },
      ],
    })
    expect(created.status).toBe(201)
    expect(created.body).toMatchObject({ status: 'draft', totalCents: 10 * 250 + 2 * 100, sentAt: null })
    const id = created.body.id
    const early = await a.post(`/admin/purchase-orders/${id}/receive`, { lines: [{ productId: p, quantity: 1 }] }, 'early')
    expect(early.status).toBe(409)
    expect(early.body.code).toBe('invalid_transition')
    expect(fields(early)).toEqual(['status'])

    const sent = await a.post(`/admin/purchase-orders/${id}/send`)
    expect(sent.body.status).toBe('sent')
    expect(Date.parse(sent.body.expectedAt) - Date.parse(sent.body.sentAt)).toBeCloseTo(4 * DAY, -4)
    expect((await a.post(`/admin/purchase-orders/${id}/send`)).status).toBe(409)

    expect((await a.post(`/admin/purchase-orders/${id}/receive`, { lines: [{ productId: p, quantity: 4 }] })).status).toBe(400) // no key
    for (const quantity of [0, -2, 1.5])
      expect(
        fields(await a.post(`/admin/purchase-orders/${id}/receive`, { lines: [{ productId: p, quantity }] }, `bad${quantity}`)),
      ).toEqual(['lines.0.quantity'])
    const r1 = await a.post(`/admin/purchase-orders/${id}/receive`, { lines: [{ productId: p, quantity: 4 }] }, 'r1')
    expect(r1.status).toBe(200)
    expect(r1.body.status).toBe('partially_received')
    expect(await stockOf(p)).toBe(9)
    const mv = await a.get(`/inventory/${p}/movements`)
    expect(mv.body.items[0]).toMatchObject({ kind: 'restock', onHandDelta: 4 })
    expect(mv.body.items[0].reason).toContain(id)

    const again = await a.post(`/admin/purchase-orders/${id}/receive`, { lines: [{ productId: p, quantity: 4 }] }, 'r1')
    expect(again.status).toBe(200)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(await stockOf(p)).toBe(9)

    const over = await a.post(
      `/admin/purchase-orders/${id}/receive`,
      {
        lines: [
          { productId: q, quantity: 1 },
          { productId: p, quantity: 7 },
        ],
      },
      'r2',
    )
    expect(over.status).toBe(409)
    expect(over.body.code).toBe('over_receipt')
    expect(fields(over)).toEqual(['lines.1.quantity'])
    expect(await stockOf(q)).toBe(0) // all or nothing: the first line was rolled back too
    const stranger = await a.post(`/admin/purchase-orders/${id}/receive`, { lines: [{ productId: await product(0), quantity: 1 }] }, 'r3')
    expect(stranger.status).toBe(422)
    expect(fields(stranger)).toEqual(['lines.0.productId'])
    expect((await a.post(`/admin/purchase-orders/${id}/close`)).status).toBe(200)
    expect((await a.post(`/admin/purchase-orders/${id}/cancel`)).status).toBe(409)
    const closed = await a.get(`/admin/purchase-orders/${id}`)
    expect(closed.body.status).toBe('closed')
    expect(closed.body.lines.find((l: { productId: string }) => l.productId === p).received).toBe(4)
  })

  test('full receipt → received; cancel from draft and sent only; list filters', async () => {
    const a = as(admin)
    const s = await supplier()
    const p = await product(0)
    const id = await sentPo(s, [{ productId: p, quantity: 3 }])
    const done = await a.post(`/admin/purchase-orders/${id}/receive`, { lines: [{ productId: p, quantity: 3 }] }, 'all')
    expect(done.body.status).toBe('received')
    expect(done.body.receivedAt).not.toBeNull()
    expect((await a.post(`/admin/purchase-orders/${id}/cancel`)).status).toBe(409)
    const other = await sentPo(s, [{ productId: p, quantity: 1 }])
    expect((await a.post(`/admin/purchase-orders/${other}/cancel`)).body.status).toBe('cancelled')
    const refused = await a.post(`/admin/purchase-orders/${other}/receive`, { lines: [{ productId: p, quantity: 1 }] }, 'late')
    expect(refused.status).toBe(409)
    const list = await a.get(`/admin/purchase-orders?supplierId=${s}&status=cancelled`)
    expect(list.body.items.map((x: { id: string }) => x.id)).toEqual([other])
    // No status: every status (an absent optional enum must not become its first member).
    const both = await a.get(`/admin/purchase-orders?supplierId=${s}`)
    expect(both.body.items.map((x: { id: string }) => x.id).sort()).toEqual([id, other].sort())
    expect((await a.get('/admin/purchase-orders?status=bogus')).status).toBe(422)
    expect((await a.get(`/admin/purchase-orders/${Bun.randomUUIDv7()}`)).status).toBe(404)
  })

  test('concurrent receipts never over-receive; the same key concurrently restocks once; the CHECK is the fence', async () => {
    const s = await supplier()
    const p = await product(0)
    const id = await sentPo(s, [{ productId: p, quantity: 10 }])
    const tries = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => receivePurchaseOrder(id, [{ productId: p, quantity: 3 }], `k${i}`)),
    )
    expect(tries.filter((t) => t.status === 'fulfilled')).toHaveLength(3)
    expect(tries.filter((t) => t.status === 'rejected').every((t) => (t as PromiseRejectedResult).reason.code === 'over_receipt')).toBe(
      true,
    )
    expect(await stockOf(p)).toBe(9)

    const p2 = await product(0)
    const id2 = await sentPo(s, [{ productId: p2, quantity: 10 }])
    await Promise.all(Array.from({ length: 6 }, () => receivePurchaseOrder(id2, [{ productId: p2, quantity: 2 }], 'same')))
    expect(await stockOf(p2)).toBe(2)
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from inventory_movements where product_id = ${p2}`
    expect(row?.n).toBe(1)
    expect(sql`update purchase_order_lines set received = quantity + 1 where purchase_order_id = ${id2}`).rejects.toThrow(
      /purchase_order_lines_received_range/,
    )
  })
})

describe('reliability from purchase-order history', () => {
  test('on-time rate and fill rate; a late, short-closed order lowers both', async () => {
    const a = as(admin)
    const s = await supplier(3)
    const p = await product(0)
    const good = await sentPo(s, [{ productId: p, quantity: 10 }])
    await a.post(`/admin/purchase-orders/${good}/receive`, { lines: [{ productId: p, quantity: 10 }] }, 'g')
    const late = await sentPo(s, [{ productId: p, quantity: 10 }])
    await sql`update purchase_orders set expected_at = now() - interval '5 days' where id = ${late}`
    await a.post(`/admin/purchase-orders/${late}/receive`, { lines: [{ productId: p, quantity: 5 }] }, 'l')
    await a.post(`/admin/purchase-orders/${late}/close`)
    // on time 1 of 2 = 0.5; fill (10 + 5) / 20 = 0.75; score (0.5 + 0.75) / 2 = 0.625
    expect((await a.get(`/admin/suppliers/${s}`)).body).toMatchObject({
      onTimeRate: 0.5,
      fillRate: 0.75,
      reliability: 0.625,
      purchaseOrdersEvaluated: 2,
    })
    await sweepAlerts()
    const alerts = await a.get('/admin/alerts?kind=supplier_reliability&limit=100')
    expect(alerts.body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'supplier_reliability', subjectId: s, severity: 'warning' })]),
    )
  })

  test('reliability falling: good history, a bad recent order → alert although the overall score is fine', async () => {
    const a = as(admin)
    const s = await supplier(3)
    const p = await product(0)
    for (let i = 0; i < 6; i++) {
      const id = await sentPo(s, [{ productId: p, quantity: 10 }])
      await a.post(`/admin/purchase-orders/${id}/receive`, { lines: [{ productId: p, quantity: 10 }] }, `old${i}`)
      await sql`update purchase_orders set sent_at = now() - interval '200 days' where id = ${id}`
    }
    const bad = await sentPo(s, [{ productId: p, quantity: 10 }])
    await sql`update purchase_orders set expected_at = now() - interval '5 days' where id = ${bad}`
    await a.post(`/admin/purchase-orders/${bad}/receive`, { lines: [{ productId: p, quantity: 5 }] }, 'bad')
    await a.post(`/admin/purchase-orders/${bad}/close`)
    // overall: on time 6/7, fill 65/70 → 0.893; the last 90 days: 0 and 0.5 → 0.25
    expect((await a.get(`/admin/suppliers/${s}`)).body.reliability).toBe(0.893)
    await sweepAlerts()
    const alert = (await a.get('/admin/alerts?kind=supplier_reliability&limit=100')).body.items.find(
      (x: { subjectId: string }) => x.subjectId === s,
    )
    expect(alert).toMatchObject({ kind: 'supplier_reliability', severity: 'warning' })
    expect(alert.message).toContain('falling')
  })

  test('an open order past its expected day is overdue: alert, and it counts as late', async () => {
    const s = await supplier(2)
    const p = await product(0)
    const id = await sentPo(s, [{ productId: p, quantity: 1 }])
    await sql`update purchase_orders set expected_at = now() - interval '3 days' where id = ${id}`
    await sweepAlerts()
    const alerts = await as(admin).get('/admin/alerts?status=open&kind=purchase_order_overdue&limit=100')
    expect(alerts.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'purchase_order_overdue', subjectId: id })]))
    expect((await as(admin).get(`/admin/suppliers/${s}`)).body).toMatchObject({ onTimeRate: 0, purchaseOrdersEvaluated: 1 })
  })
})

describe('forecasts', () => {
  test('weekly demand with a stock-out: Holt-Winters, 28 days with nested intervals, stock-out days missing, level kept', async () => {
    const p = await product(500)
    const week = [12, 14, 15, 16, 20, 30, 28]
    await demand(p, 182, (d) => (d >= 20 && d <= 29 ? 0 : (week[d % 7] as number) + (d % 3)))
    // The shelf was empty 29..20 days ago: emptied, then refilled (net zero in the ledger).
    const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate())
    await sql`insert into inventory_movements (id, product_id, kind, on_hand_delta, reason, created_at) values
      (${Bun.randomUUIDv7()}, ${p}, 'adjust', -500, 'out', ${new Date(today - 29 * DAY + 60_000).toISOString()}),
      (${Bun.randomUUIDv7()}, ${p}, 'restock', 500, 'back', ${new Date(today - 19 * DAY + 60_000).toISOString()})`
    const r = await as(admin).get(`/admin/forecasts/${p}`)
    expect(r.status).toBe(200)
    expect(r.body.method).toBe('holt-winters')
    expect(r.body.forecast).toHaveLength(28)
    const h = r.body.history as { date: string; value: number | null; stockout: boolean }[]
    expect(h.filter((x) => x.stockout)).toHaveLength(10)
    expect(h.at(-25)).toMatchObject({ value: null, stockout: true })
    for (const f of r.body.forecast) {
      expect(f.lower95).toBeLessThanOrEqual(f.lower80)
      expect(f.lower80).toBeLessThanOrEqual(f.value)
      expect(f.value).toBeLessThanOrEqual(f.upper80)
      expect(f.upper80).toBeLessThanOrEqual(f.upper95)
    }
    const avg = r.body.forecast.reduce((a: number, f: { value: number }) => a + f.value, 0) / 28
    expect(avg).toBeGreaterThan(17)
    expect(avg).toBeLessThan(23)
    expect(r.body.accuracy.mase).toBeLessThan(1)
    expect(r.body.forecast[0].date).toBe(new Date(today).toISOString().slice(0, 10))
  })

  test('intermittent demand → Croston/SBA; a new product → seasonal naive; unknown → 404; bad id → 422', async () => {
    const sparse = await product(100)
    await demand(sparse, 120, (d) => (d % 5 === 0 ? 3 : 0))
    expect((await as(admin).get(`/admin/forecasts/${sparse}`)).body.method).toBe('croston-sba')
    const fresh = await product(0)
    const f = await as(admin).get(`/admin/forecasts/${fresh}`)
    expect(f.body.method).toBe('seasonal-naive')
    expect(f.body.forecast.every((x: { value: number }) => x.value === 0)).toBe(true)
    expect((await as(admin).get(`/admin/forecasts/${Bun.randomUUIDv7()}`)).status).toBe(404)
    expect(fields(await as(admin).get('/admin/forecasts/nope'))).toEqual(['params.productId'])
  })
})

describe('reorder suggestions', () => {
  test('names the cheapest reliable supplier, rounds to MOQ and packs; accept groups per supplier; dismiss', async () => {
    const a = as(admin)
    const p = await product(6, 20) // below its manual reorder point, no demand history
    const q = await product(0, 5)
    const cheap = await supplier(3, 'Cheap')
    const dear = await supplier(3, 'Dear')
    await offer(cheap, p, { unitCostCents: 300, minOrderQuantity: 10, packSize: 4 })
    await offer(dear, p, { unitCostCents: 900 })
    await offer(cheap, q, { unitCostCents: 100 })
    expect(await suggestForProduct(p)).toBe('suggested')
    expect(await suggestForProduct(q)).toBe('suggested')
    const list = await a.get('/admin/reorder-suggestions')
    const sp = list.body.items.find((x: { productId: string }) => x.productId === p)
    // reorder point = manual 20 (no history); need 20 − 6 = 14 ≥ MOQ 10 → packs of 4 → 16
    expect(sp).toMatchObject({ supplierId: cheap, quantity: 16, status: 'open' })
    expect(sp.reason).toContain('reorder point 20')
    expect(sp.projectedStockoutDate).toBeNull()
    const sq = list.body.items.find((x: { productId: string }) => x.productId === q)
    expect(sq.projectedStockoutDate).toBe(new Date().toISOString().slice(0, 10))
    // Recomputing updates the one open suggestion instead of adding another.
    await suggestForProduct(p)
    expect((await a.get('/admin/reorder-suggestions')).body.items.filter((x: { productId: string }) => x.productId === p)).toHaveLength(1)

    const acc1 = await a.post(`/admin/reorder-suggestions/${sp.id}/accept`)
    expect(acc1.status).toBe(200)
    const acc2 = await a.post(`/admin/reorder-suggestions/${sq.id}/accept`)
    expect(acc2.body.purchaseOrderId).toBe(acc1.body.purchaseOrderId)
    const po = await a.get(`/admin/purchase-orders/${acc1.body.purchaseOrderId}`)
    expect(po.body).toMatchObject({ status: 'draft', supplierId: cheap })
    expect(po.body.lines).toHaveLength(2)
    const again = await a.post(`/admin/reorder-suggestions/${sp.id}/accept`)
    expect(again.status).toBe(409)
    expect(fields(again)).toEqual(['status'])
    // On order now: no new suggestion for p.
    expect(await suggestForProduct(p)).toBe('none')

    const r = await product(1, 10)
    await offer(dear, r)
    await suggestForProduct(r)
    const sr = (await a.get('/admin/reorder-suggestions')).body.items.find((x: { productId: string }) => x.productId === r)
    expect((await a.post(`/admin/reorder-suggestions/${sr.id}/dismiss`)).body.status).toBe('dismissed')
    expect((await a.post(`/admin/reorder-suggestions/${sr.id}/dismiss`)).status).toBe(409)
    expect((await a.get('/admin/reorder-suggestions?status=dismissed')).body.items.map((x: { id: string }) => x.id)).toContain(sr.id)
    expect((await a.post(`/admin/reorder-suggestions/${Bun.randomUUIDv7()}/accept`)).status).toBe(404)
  })

  test('the scheduled sweeps: every live product forecast and planned, deleted products skipped', async () => {
    const live = await product(1, 10)
    const gone = await product(1, 10)
    const s = await supplier(2)
    await offer(s, live)
    await offer(s, gone)
    await sql`update products set deleted_at = now() where id = ${gone}`
    const f = (await processPlanning({ name: 'refresh-forecasts', data: {} } as never)) as { products: number }
    expect(f.products).toBeGreaterThan(0)
    const stored = await sql`select product_id from product_forecasts where product_id in ${sql([live, gone])}`
    expect(stored.map((r) => r.product_id)).toEqual([live])
    await processPlanning({ name: 'refresh-suggestions', data: {} } as never)
    const open = (await as(admin).get('/admin/reorder-suggestions')).body.items.map((x: { productId: string }) => x.productId)
    expect(open).toContain(live)
    expect(open).not.toContain(gone)
    expect(await suggestForProduct(Bun.randomUUIDv7())).toBe('gone')
  })

  test('stock.low is routed to planning, whose job re-plans the product', async () => {
    const p = await product(2, 10)
    const s = await supplier(2)
    await offer(s, p)
    const routes = routeEvent({ id: Bun.randomUUIDv7(), type: 'stock.low', aggregateId: p, payload: { productId: p } })
    const job = routes.find((x) => x.queue === 'planning')
    expect(job?.name).toBe('suggest-product')
    expect(await processPlanning({ name: job?.name, data: job?.data } as never)).toBe('suggested')
    const items = (await as(admin).get('/admin/reorder-suggestions')).body.items
    expect(items.find((x: { productId: string }) => x.productId === p)).toMatchObject({ supplierId: s })
  })
})

describe('a burst of stock events for one product', () => {
  test('collapses into one waiting re-plan (BullMQ deduplication), not one job per event', async () => {
    const p = await product(2, 10)
    for (let i = 0; i < 20; i++)
      await sql`insert into outbox_events (id, type, aggregate_id, payload)
        values (${Bun.randomUUIDv7()}, ${i % 2 ? 'stock.low' : 'stock.replan'}, ${p}, ${JSON.stringify({ productId: p })}::jsonb)`
    while ((await relayOnce()) > 0) {}
    const waiting = await queue('planning').getJobs(['wait', 'delayed', 'prioritized'])
    const mine = waiting.filter((j) => (j.data as { productId?: string }).productId === p)
    expect(mine).toHaveLength(1)
    expect(mine[0]?.name).toBe('suggest-product')
  })
})

describe('re-planning within seconds (outbox relay → planning worker)', () => {
  let workers: WorkerSet
  beforeAll(async () => {
    workers = await startWorkerSet({ queues: ['planning'], schedules: false, relay: true })
  })
  afterAll(async () => {
    await workers.close()
  })

  /** Stocked 61 days ago, 10 units a day since, a 3-day supplier, planned once: forecast ≈ 10/day, big sale = 30 units. */
  async function planned(stock: number) {
    const p = await product(0, 5)
    await sql`update inventory set on_hand = ${stock} where product_id = ${p}`
    await sql`insert into inventory_movements (id, product_id, kind, on_hand_delta, reason, created_at)
      values (${Bun.randomUUIDv7()}, ${p}, 'restock', ${stock}, 'test', ${new Date(Date.now() - 61 * DAY).toISOString()})`
    await demand(p, 60, () => 10)
    await offer(await supplier(3), p)
    await suggestForProduct(p)
    const [f] = await sql<{ reorder_point: number; computed_at: string }[]>`
      select reorder_point, computed_at from product_forecasts where product_id = ${p}`
    const [inv] = await sql<{ replan_level: number }[]>`select replan_level from inventory where product_id = ${p}`
    return {
      p,
      rop: f?.reorder_point as number,
      computedAt: new Date(f?.computed_at as string).getTime(),
      level: inv?.replan_level as number,
    }
  }
  const order = async (productId: string, quantity: number) => {
    const r = await req('POST', '/api/v1/orders', {
      token: customer,
      body: { items: [{ productId, quantity }] },
      headers: { 'idempotency-key': `replan-${Bun.randomUUIDv7()}` },
    })
    expect(r.status).toBe(201)
  }
  const planOf = (p: string) =>
    waitFor('the re-plan', async () => {
      const [f] = await sql<{ planned_available: number; computed_at: string }[]>`
        select planned_available, computed_at from product_forecasts where product_id = ${p}`
      return f && { plannedAvailable: f.planned_available, computedAt: new Date(f.computed_at).getTime() }
    })

  test('a sale crossing the forecast reorder point (above the manual one) opens a suggestion; no refit', async () => {
    const { p, rop, computedAt, level } = await planned(50)
    // Lead-time demand 3 × 10 (+ a safety stock of the flat series' tiny error) is far above the manual 5.
    expect(rop).toBeGreaterThanOrEqual(30)
    expect(rop).toBeLessThan(40)
    expect(level).toBe(rop) // max(reorder point, 50 − 30)
    expect((await as(admin).get('/admin/reorder-suggestions')).body.items.map((x: { productId: string }) => x.productId)).not.toContain(p)

    // 50 − q ≤ rop but still above the manual reorder point 5: only stock.replan fires.
    const q = 50 - rop
    await order(p, q)
    const [ev] = await sql<{ type: string }[]>`select type from outbox_events where aggregate_id = ${p} and type like 'stock.%'`
    expect(ev?.type).toBe('stock.replan')
    const suggestion = await waitFor('the suggestion', async () =>
      (await as(admin).get('/admin/reorder-suggestions')).body.items.find((x: { productId: string }) => x.productId === p),
    )
    expect(suggestion.quantity).toBeGreaterThan(0)
    const after = await planOf(p)
    expect(after.plannedAvailable).toBe(rop)
    // q < 30 units is not a big sale: the stored forecast was reused, not refitted.
    expect(after.computedAt).toBe(computedAt)
    const [inv] = await sql<{ replan_level: number }[]>`select replan_level from inventory where product_id = ${p}`
    expect(inv?.replan_level).toBe(Math.max(0, rop - 30)) // below the point now: only a big sale re-plans
  }, 30_000)

  test('a big sale (≥ 3 days of forecast demand since the last plan) refits the forecast, then re-plans', async () => {
    const { p, computedAt, level } = await planned(200)
    expect(level).toBe(170) // 200 − the big sale of 30 units
    await order(p, 20) // 180: above the level, nothing happens
    await order(p, 15) // 165: 35 units since the plan → stock.replan
    // The refit forecast is stored, then the plan beside it: wait for the plan (165 available).
    const after = await waitFor('the re-plan', async () => {
      const f = await planOf(p)
      return f.plannedAvailable === 165 ? f : null
    })
    expect(after.computedAt).toBeGreaterThan(computedAt) // refitted, not reused
    // The plan is stored first, then inventory's level is set: wait for the level itself.
    await waitFor('the new replan level (165 − 30)', async () => {
      const [inv] = await sql<{ replan_level: number }[]>`select replan_level from inventory where product_id = ${p}`
      return inv?.replan_level === 135
    })
    const types = await sql<{ type: string }[]>`select type from outbox_events where aggregate_id = ${p} and type like 'stock.%'`
    expect(types.map((t) => t.type)).toEqual(['stock.replan'])
  }, 30_000)

  test('a level set at or above available is itself a crossing: stock.replan at once', async () => {
    const p = await product(12, 5)
    const { setReplanLevel } = await import('../src/modules/inventory/service')
    expect(await setReplanLevel(p, 12)).toBe(12)
    const types = await sql<{ type: string }[]>`select type from outbox_events where aggregate_id = ${p}`
    expect(types.map((t) => t.type)).toEqual(['stock.replan'])
    expect(await setReplanLevel(p, 3)).toBe(12)
    expect(await sql`select 1 from outbox_events where aggregate_id = ${p}`).toHaveLength(1)
    await expect(setReplanLevel(p, -1)).rejects.toThrow(RangeError)
  })

  test('a sold-out product is planned once, not re-planned by its own level (no loop)', async () => {
    const p = await product(0, 5)
    await offer(await supplier(2), p)
    expect(await suggestForProduct(p)).toBe('suggested')
    const [inv] = await sql<{ replan_level: number }[]>`select replan_level from inventory where product_id = ${p}`
    expect(inv?.replan_level).toBe(0)
    expect(await sql`select 1 from outbox_events where aggregate_id = ${p} and type = 'stock.replan'`).toHaveLength(0)
  })
})

describe('access', () => {
  test('customers get 403 and anonymous callers 401 on every planning route', async () => {
    const id = Bun.randomUUIDv7()
    const routes: [string, string][] = [
      ['GET', '/admin/suppliers'],
      ['POST', '/admin/suppliers'],
      ['GET', `/admin/suppliers/${id}`],
      ['PATCH', `/admin/suppliers/${id}`],
      ['DELETE', `/admin/suppliers/${id}`],
      ['POST', `/admin/suppliers/${id}/offers`],
      ['GET', `/admin/suppliers/${id}/offers`],
      ['GET', '/admin/purchase-orders'],
      ['POST', '/admin/purchase-orders'],
      ['GET', `/admin/purchase-orders/${id}`],
      ['POST', `/admin/purchase-orders/${id}/send`],
      ['POST', `/admin/purchase-orders/${id}/cancel`],
      ['POST', `/admin/purchase-orders/${id}/close`],
      ['POST', `/admin/purchase-orders/${id}/receive`],
      ['GET', `/admin/forecasts/${id}`],
      ['GET', '/admin/reorder-suggestions'],
      ['POST', `/admin/reorder-suggestions/${id}/accept`],
      ['POST', `/admin/reorder-suggestions/${id}/dismiss`],
    ]
    for (const [method, path] of routes) {
      const body = method === 'GET' || method === 'DELETE' ? undefined : {}
      const r = await req(method, `/api/v1${path}`, { token: customer, body, headers: { 'idempotency-key': 'x' } })
      expect(`${method} ${path} ${r.status}`).toBe(`${method} ${path} 403`)
      expect((await req(method, `/api/v1${path}`, { body })).status).toBe(401)
    }
  })
})
