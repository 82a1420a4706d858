// The gated sold-out fast path of POST /orders: once the Redis gate knows a product is gone, a
// checkout is refused with 409 out_of_stock without claiming the Idempotency-Key in Postgres;
// authentication still comes first, and a retry of an already-claimed key still replays.
import { describe, expect, test } from 'bun:test'
import { and, eq } from 'drizzle-orm'
import { idempotencyKeys } from '../db/schema'
import { db } from '../src/infra/db'
import { registry } from '../src/infra/metrics'
import { createUser, req } from './helpers'
import { newKey, order, productWithStock } from './orders-fixtures'

const fastPathRejections = async () =>
  (await registry.getMetricsAsJSON())
    .find((m) => m.name === 'inventory_reservations_total')
    ?.values.filter((v) => v.labels.strategy === 'gated-fast-path')
    .reduce((a, v) => a + v.value, 0) ?? 0

const claimed = async (userId: string, key: string) =>
  (
    await db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, key)))
  ).length

describe('sold-out fast path (gated)', () => {
  test('sold out → 409 from the gate, nothing written; retries of a claimed key still replay', async () => {
    const productId = await productWithStock(1)
    const winner = await createUser()
    const loser = await createUser()
    const winnerKey = newKey()
    const first = await order(winner.token, [{ productId, quantity: 1 }], winnerKey)
    expect(first.status).toBe(201)

    const before = await fastPathRejections()
    const loserKey = newKey()
    const refused = await order(loser.token, [{ productId, quantity: 1 }], loserKey)
    expect(refused.status).toBe(409)
    expect(refused.body).toMatchObject({ code: 'out_of_stock', productIds: [productId] })
    expect(await fastPathRejections()).toBe(before + 1)
    expect(await claimed(loser.id, loserKey)).toBe(0) // Postgres never saw the key

    // The winner's retry must replay its 201, not be refused by the fast path.
    const replay = await order(winner.token, [{ productId, quantity: 1 }], winnerKey)
    expect(replay.status).toBe(201)
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect(replay.text).toBe(first.text)
  })

  test('authentication and validation come before the fast path', async () => {
    const productId = await productWithStock(1)
    const u = await createUser()
    expect((await order(u.token, [{ productId, quantity: 1 }])).status).toBe(201)
    const anon = await req('POST', '/api/v1/orders', {
      body: { items: [{ productId, quantity: 1 }] },
      headers: { 'idempotency-key': newKey() },
    })
    expect(anon.status).toBe(401)
    const bad = await order(u.token, [{ productId, quantity: 0 }])
    expect(bad.status).toBe(422)
    const noKey = await req('POST', '/api/v1/orders', { token: u.token, body: { items: [{ productId, quantity: 1 }] } })
    expect(noKey.status).toBe(400)
  })

  test('a multi-line order is refused only for the lines that are short; in-stock lines are untouched', async () => {
    const gone = await productWithStock(1)
    const plenty = await productWithStock(10)
    const u = await createUser()
    expect((await order(u.token, [{ productId: gone, quantity: 1 }])).status).toBe(201)
    expect((await order(u.token, [{ productId: plenty, quantity: 1 }])).status).toBe(201) // loads its counter
    const r = await order(u.token, [
      { productId: plenty, quantity: 2 },
      { productId: gone, quantity: 1 },
    ])
    expect(r.status).toBe(409)
    expect(r.body.productIds).toEqual([gone])
    const inv = await req('GET', `/api/v1/inventory/${plenty}`)
    expect(inv.body.available).toBe(9)
  })
})
