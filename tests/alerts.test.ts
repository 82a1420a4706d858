// Low-stock alerts: a sale drops stock to the reorder point → one open alert (however many
// events and checks run) → a restock resolves it; the admin list filters and paginates, and shows
// the alerts planning raises beside them (kind and severity on every item).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { and, eq, isNull } from 'drizzle-orm'
import { stockAlerts } from '../db/schema'
import { startWorkerSet, type WorkerSet } from '../jobs/worker'
import { db } from '../src/infra/db'
import { emitEvent } from '../src/lib/outbox'
import { clearAlert, raiseAlert } from '../src/modules/alerts/raised'
import { checkAllStock } from '../src/modules/alerts/service'
import { currentSeq, replaySince } from '../src/modules/live/bus'
import { createUser, req } from './helpers'
import { productWithStock, waitFor } from './jobs-helpers'

let workers: WorkerSet
beforeAll(async () => {
  workers = await startWorkerSet({ queues: ['stock-alerts'], schedules: false, relay: true })
})
afterAll(async () => {
  await workers.close()
})

const alertsOf = (productId: string) => db.select().from(stockAlerts).where(eq(stockAlerts.productId, productId))
const openAlertsOf = (productId: string) =>
  db
    .select()
    .from(stockAlerts)
    .where(and(eq(stockAlerts.productId, productId), isNull(stockAlerts.resolvedAt)))

describe('low-stock alerts', () => {
  test('opened once by the stock.low of a sale, deduplicated, resolved by a restock', async () => {
    const admin = await createUser('admin')
    const buyer = await createUser('customer')
    const productId = await productWithStock(20, 10, 'Alert Kettle')

    // A real checkout takes available from 20 to 8 (≤ reorder point 10): inventory emits stock.low.
    const order = await req('POST', '/api/v1/orders', {
      token: buyer.token,
      body: { items: [{ productId, quantity: 12 }] },
      headers: { 'idempotency-key': `alert-${Bun.randomUUIDv7()}` },
    })
    expect(order.status).toBe(201)
    const [opened] = await waitFor('the alert to open', async () => {
      const rows = await openAlertsOf(productId)
      return rows.length ? rows : null
    })
    expect(opened).toMatchObject({ source: 'stock.low', availableAtOpen: 8, reorderPoint: 10 })

    // More stock.low events and the daily check: still exactly one open alert.
    await db.transaction((tx) => emitEvent(tx, 'stock.low', productId, { productId, available: 8, reorderPoint: 10 }))
    await db.transaction((tx) => emitEvent(tx, 'stock.low', productId, { productId, available: 8, reorderPoint: 10 }))
    await checkAllStock()
    await waitFor('the duplicate events to be consumed', async () => {
      const rows = await db.execute<{ n: number }>(
        `select count(*)::int as n from outbox_events where aggregate_id = '${productId}' and published_at is null`,
      )
      return [...rows][0]!.n === 0
    })
    await Bun.sleep(300)
    expect(await alertsOf(productId)).toHaveLength(1)
    // The database refuses a second open alert for the product whatever the code does.
    const dup = await db
      .insert(stockAlerts)
      .values({ productId, availableAtOpen: 8, reorderPoint: 10, source: 'test' })
      .then(
        () => null,
        (e: Error & { cause?: Error }) => `${e.message} ${e.cause?.message ?? ''}`,
      )
    expect(dup).toContain('stock_alerts_one_open_per_product')

    // Restock 50 (available 58 > 10): inventory emits stock.restocked, the alert resolves.
    const restock = await req('POST', `/api/v1/inventory/${productId}/restock`, { token: admin.token, body: { quantity: 50 } })
    expect(restock.status).toBeLessThan(300)
    const resolved = await waitFor('the alert to resolve', async () => {
      const [row] = await alertsOf(productId)
      return row?.resolvedAt ? row : null
    })
    expect(resolved.id).toBe(opened!.id)
    expect(resolved.availableAtResolve).toBe(58)
    expect(await openAlertsOf(productId)).toHaveLength(0)

    // A later sale below the reorder point opens a new alert (history kept: one resolved, one open).
    const again = await req('POST', '/api/v1/orders', {
      token: buyer.token,
      body: { items: [{ productId, quantity: 50 }] },
      headers: { 'idempotency-key': `alert-${Bun.randomUUIDv7()}` },
    })
    expect(again.status).toBe(201)
    const reopened = await waitFor('a new alert', async () => (await openAlertsOf(productId))[0])
    expect(reopened.id).not.toBe(opened!.id)
    expect(reopened.availableAtOpen).toBe(8)
    expect(await alertsOf(productId)).toHaveLength(2)
  }, 30_000)

  test('GET /api/v1/admin/alerts: admin only, filters by status and product, paginates', async () => {
    const admin = await createUser('admin')
    const customer = await createUser('customer')
    const low = await productWithStock(3, 10)
    const fine = await productWithStock(100, 10)
    const lowToo = await productWithStock(1, 5)
    await checkAllStock()

    expect((await req('GET', '/api/v1/admin/alerts')).status).toBe(401)
    const forbidden = await req('GET', '/api/v1/admin/alerts', { token: customer.token })
    expect(forbidden.status).toBe(403)
    expect(forbidden.headers.get('content-type')).toContain('application/problem+json')

    const open = await req('GET', `/api/v1/admin/alerts?status=open&productId=${low}`, { token: admin.token })
    expect(open.status).toBe(200)
    expect(open.body.items).toHaveLength(1)
    expect(open.body.items[0]).toMatchObject({ productId: low, status: 'open', availableAtOpen: 3, reorderPoint: 10, resolvedAt: null })
    expect((await req('GET', `/api/v1/admin/alerts?productId=${fine}`, { token: admin.token })).body.items).toHaveLength(0)
    const resolvedOnly = await req('GET', `/api/v1/admin/alerts?status=resolved&productId=${low}`, { token: admin.token })
    expect(resolvedOnly.body.items).toHaveLength(0)

    // Pagination: newest first, the cursor walks without repeats.
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { status: number; body: { items: { id: string }[]; nextCursor: string | null } } = await req(
        'GET',
        `/api/v1/admin/alerts?status=open&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        { token: admin.token },
      )
      expect(page.status).toBe(200)
      expect(page.body.items.length).toBeLessThanOrEqual(1)
      seen.push(...page.body.items.map((i) => i.id))
      cursor = page.body.nextCursor
    } while (cursor)
    expect(new Set(seen).size).toBe(seen.length)
    const all = await req('GET', '/api/v1/admin/alerts?status=open&limit=100', { token: admin.token })
    expect(seen.length).toBe(all.body.items.length)
    expect(all.body.items.map((i: { productId: string }) => i.productId)).toEqual(expect.arrayContaining([low, lowToo]))

    for (const bad of ['status=closed', 'limit=0', 'limit=101', 'productId=nope', 'cursor=garbage']) {
      const r = await req('GET', `/api/v1/admin/alerts?${bad}`, { token: admin.token })
      expect(r.status).toBe(422)
      expect(r.body.errors?.[0]?.field ?? r.body.detail).toContain(bad.split('=')[0]!)
    }
  }, 30_000)

  test('one list: low-stock and raised alerts with kind and severity, filtered by kind, severity and product', async () => {
    const admin = await createUser('admin')
    const empty = await productWithStock(0, 10)
    const low = await productWithStock(4, 10)
    await checkAllStock()
    const supplierId = Bun.randomUUIDv7()
    const seq = await currentSeq()
    await raiseAlert('stockout_risk', low, 'warning', 'projected stock-out before a reorder could arrive')
    await raiseAlert('supplier_reliability', supplierId, 'warning', 'supplier reliability 0.7 is below 0.8')
    // Raising again updates the open alert (one per kind and subject), never adds a second.
    await raiseAlert('supplier_reliability', supplierId, 'critical', 'supplier reliability 0.5 is below 0.8')

    // Each opened alert is announced once on the live feed (the update of an open one is not).
    const live = (await replaySince(seq)).messages.filter((m) => m.type === 'alert.created' && m.data.subjectId === supplierId)
    expect(live.map((m) => m.data)).toEqual([
      {
        kind: 'supplier_reliability',
        severity: 'warning',
        subjectId: supplierId,
        productId: null,
        message: 'supplier reliability 0.7 is below 0.8',
      },
    ])

    const get = (q: string) => req('GET', `/api/v1/admin/alerts?${q}`, { token: admin.token })
    const all = (await get('status=open&limit=100')).body.items as Record<string, unknown>[]
    for (const item of all) expect(Object.keys(item)).toEqual(expect.arrayContaining(['kind', 'severity', 'subjectId', 'message']))
    expect(all.find((a) => a.productId === empty && a.kind === 'low_stock')).toMatchObject({
      severity: 'critical', // nothing left to sell
      subjectId: empty,
      availableAtOpen: 0,
      source: 'daily-check',
    })
    expect(all.find((a) => a.productId === low && a.kind === 'low_stock')).toMatchObject({ severity: 'warning', availableAtOpen: 4 })
    const sup = all.filter((a) => a.subjectId === supplierId)
    expect(sup).toHaveLength(1)
    expect(sup[0]).toMatchObject({
      kind: 'supplier_reliability',
      severity: 'critical',
      productId: null,
      availableAtOpen: null,
      reorderPoint: null,
      source: 'planning',
      message: 'supplier reliability 0.5 is below 0.8',
      resolvedAt: null,
    })

    // productId matches the product's low-stock and stock-out-risk alerts.
    const ofLow = (await get(`productId=${low}`)).body.items.map((a: { kind: string }) => a.kind)
    expect(ofLow.sort()).toEqual(['low_stock', 'stockout_risk'])
    const kinds = async (q: string) => new Set((await get(`${q}&limit=100`)).body.items.map((a: { kind: string }) => a.kind))
    expect(await kinds('kind=supplier_reliability')).toEqual(new Set(['supplier_reliability']))
    expect(await kinds('kind=low_stock')).toEqual(new Set(['low_stock']))
    const critical = (await get('severity=critical&status=open&limit=100')).body.items
    expect(critical.every((a: { severity: string }) => a.severity === 'critical')).toBe(true)
    expect(critical.map((a: { subjectId: string }) => a.subjectId)).toEqual(expect.arrayContaining([empty, supplierId]))

    await clearAlert('supplier_reliability', supplierId)
    expect(
      (await get('status=open&kind=supplier_reliability&limit=100')).body.items.map((a: { subjectId: string }) => a.subjectId),
    ).not.toContain(supplierId)
    const resolved = (await get('status=resolved&kind=supplier_reliability&limit=100')).body.items
    expect(resolved.find((a: { subjectId: string }) => a.subjectId === supplierId)?.resolvedAt).toBeString()

    for (const bad of ['kind=bogus', 'severity=high']) {
      const r = await get(bad)
      expect(r.status).toBe(422)
      expect(r.body.errors?.[0]?.field ?? r.body.detail).toContain(bad.split('=')[0]!)
    }
  }, 30_000)
})
