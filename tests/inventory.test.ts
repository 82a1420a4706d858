// Inventory engine against real Postgres and Redis: the fence, the three strategies under real
// concurrency (in one process; the multi-process sale is in flash-sale.test.ts), the lifecycle
// (commit, release, expiry), the gate's compensation and reconciliation, and the HTTP routes.
import { describe, expect, test } from 'bun:test'
import { checkInventory } from '../scripts/inventory-check'
import { db, sql } from '../src/infra/db'
import { key, redis } from '../src/infra/redis'
import { commitReservations, OutOfStockError, reconcileGate, releaseReservations, type Strategy } from '../src/modules/inventory/service'
import { reserveForOrder } from '../src/modules/orders/checkout'
import { enqueueCheckout } from '../src/modules/orders/checkout-batch'
import { createUser, metricSum, req } from './helpers'
import { gateValue, inTheFuture, persistOrder, productWithStock, stock } from './inventory-fixtures'

const STRATEGIES: Strategy[] = ['gated', 'pessimistic', 'optimistic']

async function expectClean(productIds: string[]) {
  const report = await checkInventory(sql)
  expect(report.mismatches.filter((m) => productIds.includes(m.productId))).toEqual([])
}

const reserve = (productId: string, strategy: Strategy, quantity = 1, fail = false) => {
  const orderId = Bun.randomUUIDv7()
  return reserveForOrder(
    { orderId, lines: [{ productId, quantity }], expiresAt: inTheFuture(), writeOrder: persistOrder(orderId, fail) },
    strategy,
  ).then(() => orderId)
}

describe('the database fence', () => {
  test('a raw SQL oversell is refused by the CHECK constraint', async () => {
    const id = await productWithStock(3)
    await expect(sql`update inventory set reserved = on_hand + 1 where product_id = ${id}`).rejects.toMatchObject({ code: '23514' })
    await expect(sql`update inventory set on_hand = -1 where product_id = ${id}`).rejects.toMatchObject({ code: '23514' })
    expect(await stock(id)).toEqual({ onHand: 3, reserved: 0 })
  })
  test('the ledger is append-only', async () => {
    const id = await productWithStock(3)
    await expect(sql`update inventory_movements set on_hand_delta = 99 where product_id = ${id}`).rejects.toThrow(/append-only/)
    await expect(sql`delete from inventory_movements where product_id = ${id}`).rejects.toThrow(/append-only/)
  })
  test('bad lines never reach the database (422)', async () => {
    const id = await productWithStock(3)
    for (const quantity of [0, -1, 1.5, 1_000_000, Number.NaN]) {
      await expect(reserve(id, 'gated', quantity)).rejects.toMatchObject({ status: 422 })
    }
    await expect(
      reserveForOrder({
        orderId: Bun.randomUUIDv7(),
        lines: [{ productId: 'nope', quantity: 1 }],
        expiresAt: inTheFuture(),
        writeOrder: async () => {},
      }),
    ).rejects.toMatchObject({ status: 422 })
    // A product with no inventory row: 404 from every strategy (gated: whether or not its batch
    // read the stock first, and with the gate's answer or without it).
    for (const strategy of STRATEGIES) await expect(reserve(Bun.randomUUIDv7(), strategy)).rejects.toMatchObject({ status: 404 })
    const orderId = Bun.randomUUIDv7()
    await expect(
      enqueueCheckout({ orderId, productId: Bun.randomUUIDv7(), quantity: 1, expiresAt: inTheFuture(), writeOrder: persistOrder(orderId) }),
    ).rejects.toMatchObject({ status: 404 })
  })
})

describe.each(STRATEGIES)('%s strategy', (strategy) => {
  test('200 concurrent reservations of stock 20 → exactly 20, the rest out_of_stock', async () => {
    const id = await productWithStock(20)
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => reserve(id, strategy)))
    const ok = results.filter((r) => r.status === 'fulfilled').length
    const rejected = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason)
    expect(ok).toBe(20)
    for (const e of rejected) expect(e).toBeInstanceOf(OutOfStockError)
    expect(await stock(id)).toEqual({ onHand: 20, reserved: 20 })
    await expectClean([id])
  }, 30_000)

  test('[A,B] and [B,A] concurrently ×100 → no deadlock, all reserved', async () => {
    const a = await productWithStock(1000)
    const b = await productWithStock(1000)
    const tasks = Array.from({ length: 100 }, (_, i) => {
      const orderId = Bun.randomUUIDv7()
      const lines =
        i % 2
          ? [
              { productId: a, quantity: 1 },
              { productId: b, quantity: 2 },
            ]
          : [
              { productId: b, quantity: 2 },
              { productId: a, quantity: 1 },
            ]
      return reserveForOrder({ orderId, lines, expiresAt: inTheFuture(), writeOrder: persistOrder(orderId) }, strategy)
    })
    const results = await Promise.allSettled(tasks)
    const errors = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))
    expect(errors).toEqual([])
    expect(await stock(a)).toEqual({ onHand: 1000, reserved: 100 })
    expect(await stock(b)).toEqual({ onHand: 1000, reserved: 200 })
    await expectClean([a, b])
  }, 30_000)

  test('a failing persist writes nothing and gives the units back', async () => {
    const id = await productWithStock(5)
    const good = reserve(id, strategy)
    const bad = reserve(id, strategy, 2, true).then(
      () => null,
      (e: Error) => e,
    )
    await good
    expect((await bad)?.message).toBe('persist failed on purpose')
    expect(await stock(id)).toEqual({ onHand: 5, reserved: 1 })
    if (strategy === 'gated') expect(await gateValue(id)).toBe(4)
    await expectClean([id])
  })

  test('multi-line orders are all or nothing', async () => {
    const a = await productWithStock(5)
    const b = await productWithStock(1)
    const orderId = Bun.randomUUIDv7()
    const lines = [
      { productId: a, quantity: 2 },
      { productId: b, quantity: 2 },
    ]
    const err = await reserveForOrder({ orderId, lines, expiresAt: inTheFuture(), writeOrder: persistOrder(orderId) }, strategy).catch(
      (e) => e,
    )
    expect(err).toBeInstanceOf(OutOfStockError)
    expect(err.extra).toEqual({ productIds: [b] })
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 0 })
    expect(await stock(b)).toEqual({ onHand: 1, reserved: 0 })
    await expectClean([a, b])
  })
})

describe('inventory:check', () => {
  test('reports counters that disagree with the ledger and exits non-zero', async () => {
    const id = await productWithStock(8)
    await reserve(id, 'gated', 3)
    expect((await checkInventory(sql)).mismatches.filter((m) => m.productId === id)).toEqual([])
    // A write that bypasses the engine (and so the ledger) is exactly what the check is for.
    await sql`update inventory set on_hand = on_hand + 5, reserved = reserved - 1 where product_id = ${id}`
    const found = (await checkInventory(sql)).mismatches.filter((m) => m.productId === id)
    expect(found.map((m) => m.check).sort()).toEqual([
      'on_hand = Σ ledger on_hand_delta',
      'reserved = Σ active reservations',
      'reserved = Σ ledger reserved_delta',
    ])
    expect(found.find((m) => m.check.startsWith('on_hand'))).toMatchObject({ expected: 8, actual: 13 })
    const cli = Bun.spawnSync(['bun', `${import.meta.dir}/../scripts/inventory-check.ts`], {
      env: process.env,
      stdout: 'pipe',
      stderr: 'pipe',
    })
    expect(cli.exitCode).toBe(1)
    expect(cli.stdout.toString()).toContain(`MISMATCH ${id}: on_hand = Σ ledger on_hand_delta: expected 8, found 13`)
    // Put it back so the rest of the run's checks stay meaningful.
    await sql`update inventory set on_hand = on_hand - 5, reserved = reserved + 1 where product_id = ${id}`
  })
})

describe('lifecycle', () => {
  test('commit moves units out of on_hand; release and expiry give them back; all idempotent', async () => {
    const id = await productWithStock(10)
    const [o1, o2, o3] = [await reserve(id, 'gated', 3), await reserve(id, 'pessimistic', 2), await reserve(id, 'optimistic', 4)]
    await db.transaction((tx) => commitReservations(tx, o1))
    await db.transaction((tx) => commitReservations(tx, o1))
    expect(await stock(id)).toEqual({ onHand: 7, reserved: 6 })
    await db.transaction((tx) => releaseReservations(tx, o2, 'released'))
    await db.transaction((tx) => releaseReservations(tx, o2, 'released'))
    expect(await stock(id)).toEqual({ onHand: 7, reserved: 4 })
    // Expired reservations return their units (the orders sweep calls exactly this).
    await db.transaction((tx) => releaseReservations(tx, o3, 'expired'))
    await db.transaction((tx) => commitReservations(tx, o3)) // too late: no-op
    expect(await stock(id)).toEqual({ onHand: 7, reserved: 0 })
    const statuses = await sql<{ status: string }[]>`select status from reservations where product_id = ${id} order by created_at, id`
    expect(statuses.map((s) => s.status).sort()).toEqual(['committed', 'expired', 'released'])
    // The gate follows: everything released is sellable again without a reload.
    expect(await gateValue(id)).toBe(7)
    expect(await reserve(id, 'gated', 7)).toBeString()
    await expect(reserve(id, 'gated', 1)).rejects.toBeInstanceOf(OutOfStockError)
    await expectClean([id])
  })

  test('restock during a sale: every unit sold exactly once', async () => {
    const id = await productWithStock(10)
    const admin = await createUser('admin')
    const sales = Array.from({ length: 120 }, () =>
      reserve(id, 'gated').then(
        () => true,
        () => false,
      ),
    )
    await Bun.sleep(5)
    const r = await req('POST', `/api/v1/inventory/${id}/restock`, { token: admin.token, body: { quantity: 40, reason: 'truck arrived' } })
    expect(r.status).toBe(200)
    const ok = (await Promise.all(sales)).filter(Boolean).length
    const after = await stock(id)
    expect(after.onHand).toBe(50)
    expect(after.reserved).toBe(ok)
    expect(ok).toBeGreaterThanOrEqual(10)
    // Whatever the interleaving, what is left is sellable and nothing more.
    const more = await Promise.allSettled(Array.from({ length: 60 }, () => reserve(id, 'gated')))
    expect(more.filter((m) => m.status === 'fulfilled').length).toBe(50 - ok)
    expect(await stock(id)).toEqual({ onHand: 50, reserved: 50 })
    await expectClean([id])
  }, 30_000)

  test('low-stock and restocked events go to the outbox once per crossing', async () => {
    const id = await productWithStock(12, 10)
    for (let i = 0; i < 5; i++) await reserve(id, 'gated')
    const admin = await createUser('admin')
    await req('POST', `/api/v1/inventory/${id}/restock`, { token: admin.token, body: { quantity: 20 } })
    const events = await sql<{ type: string }[]>`select type from outbox_events where aggregate_id = ${id} order by id`
    expect(events.map((e) => e.type)).toEqual(['stock.low', 'stock.restocked'])
  })
})

describe('gate', () => {
  test('sold out is answered by the gate; drift is reconciled', async () => {
    const id = await productWithStock(2)
    await reserve(id, 'gated', 2)
    expect(await gateValue(id)).toBe(0)
    // Corrupt the counter both ways; reconcile puts it back to Postgres' truth.
    await redis()?.hset(key('gate', id), 'a', '-5')
    await expect(reserve(id, 'gated')).rejects.toBeInstanceOf(OutOfStockError)
    expect(await reconcileGate()).toBeGreaterThanOrEqual(1)
    expect(await gateValue(id)).toBe(0)
    await redis()?.hset(key('gate', id), 'a', '3')
    // An upward drift costs one database attempt, then the gate reloads itself.
    await expect(reserve(id, 'gated')).rejects.toBeInstanceOf(OutOfStockError)
    await Bun.sleep(20)
    expect(await gateValue(id)).toBe(0)
    await expectClean([id])
  })

  test('group commit: failing orders in a batch do not sink the others', async () => {
    const id = await productWithStock(100)
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => reserve(id, 'gated', 1, i % 3 === 0)))
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(20)
    expect(await stock(id)).toEqual({ onHand: 100, reserved: 20 })
    const traces = await sql<{ n: number }[]>`
      select count(*)::int as n from outbox_events o join reservations r on r.order_id = o.aggregate_id where r.product_id = ${id}`
    expect(traces[0]?.n).toBe(20)
    expect(await gateValue(id)).toBe(80)
    await expectClean([id])
  })

  test('group commit: a batch larger than the stock falls back to one-by-one (gate drifted up)', async () => {
    const id = await productWithStock(5)
    await reserve(id, 'gated', 1)
    await redis()?.hset(key('gate', id), 'a', '100')
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => reserve(id, 'gated')))
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(4)
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(OutOfStockError)
    expect(await stock(id)).toEqual({ onHand: 5, reserved: 5 })
    // It came up short: later batches read the stock first instead of writing and rolling back.
    const fallbacks = await metricSum('inventory_batch_fallbacks_total')
    await Promise.all([1, 2, 3].map(() => expect(reserve(id, 'gated')).rejects.toBeInstanceOf(OutOfStockError)))
    await Bun.sleep(50)
    await redis()?.hset(key('gate', id), 'a', '100')
    for (let i = 0; i < 3; i++) await reserve(id, 'gated').catch(() => {})
    expect(await metricSum('inventory_batch_fallbacks_total')).toBe(fallbacks)
    expect(await stock(id)).toEqual({ onHand: 5, reserved: 5 })
    await expectClean([id])
  })

  test('a missing counter is loaded from Postgres', async () => {
    const id = await productWithStock(4)
    await reserve(id, 'pessimistic', 1)
    await redis()?.del(key('gate', id))
    await reserve(id, 'gated', 1)
    expect(await gateValue(id)).toBe(2)
  })
})

describe('routes', () => {
  test('GET /inventory/:id, restock, movements; bad input → 422, unknown → 404, auth', async () => {
    const id = await productWithStock(5)
    const admin = await createUser('admin')
    const customer = await createUser('customer')
    const g = await req('GET', `/api/v1/inventory/${id}`)
    expect(g.status).toBe(200)
    expect(g.body).toEqual({ productId: id, onHand: 5, reserved: 0, available: 5, version: 0, reorderPoint: 10 })
    expect((await req('GET', `/api/v1/inventory/${Bun.randomUUIDv7()}`)).status).toBe(404)
    expect((await req('GET', '/api/v1/inventory/not-a-uuid')).status).toBe(422)
    const path = `/api/v1/inventory/${id}/restock`
    for (const quantity of [0, -3, 2.5, 100_000_000, 'ten', null]) {
      const r = await req('POST', path, { token: admin.token, body: { quantity } })
      expect(r.status).toBe(422)
      expect(r.headers.get('content-type')).toContain('application/problem+json')
      expect(r.body.errors[0].field).toBe('quantity')
    }
    expect((await req('POST', path, { token: admin.token, body: {} })).status).toBe(422)
    expect((await req('POST', path, { body: { quantity: 1 } })).status).toBe(401)
    expect((await req('POST', path, { token: customer.token, body: { quantity: 1 } })).status).toBe(403)
    expect(
      (await req('POST', `/api/v1/inventory/${Bun.randomUUIDv7()}/restock`, { token: admin.token, body: { quantity: 1 } })).status,
    ).toBe(404)
    const ok = await req('POST', path, { token: admin.token, body: { quantity: 7, reason: 'count' } })
    expect(ok.status).toBe(200)
    expect(ok.body).toMatchObject({ onHand: 12, available: 12, version: 1 })
    await reserve(id, 'gated', 2)
    const m1 = await req('GET', `/api/v1/inventory/${id}/movements?limit=2`, { token: admin.token })
    expect(m1.status).toBe(200)
    expect(m1.body.items.map((m: { kind: string }) => m.kind)).toEqual(['reserve', 'restock'])
    expect(m1.body.items[1]).toMatchObject({ onHandDelta: 7, reservedDelta: 0, reason: 'count' })
    const m2 = await req('GET', `/api/v1/inventory/${id}/movements?limit=2&cursor=${m1.body.nextCursor}`, { token: admin.token })
    expect(m2.body.items.map((m: { reason: string }) => m.reason)).toEqual(['initial stock'])
    expect(m2.body.nextCursor).toBeNull()
    expect((await req('GET', `/api/v1/inventory/${id}/movements?cursor=garbage`, { token: admin.token })).status).toBe(422)
    expect((await req('GET', `/api/v1/inventory/${id}/movements`, { token: customer.token })).status).toBe(403)
  })
})
