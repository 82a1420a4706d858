// The gated checkout door of POST /orders: once the Redis gate knows a product is gone, a checkout
// is refused with 409 out_of_stock without claiming the Idempotency-Key in Postgres; otherwise the
// units are taken at the door, so no more requests reach Postgres than there are units, and given
// back when the request ends without a reservation. Authentication still comes first, and a retry
// of an already-claimed key still replays (or answers in progress), even when Redis lost its marker.
import { describe, expect, test } from 'bun:test'
import { and, eq } from 'drizzle-orm'
import { idempotencyKeys } from '../db/schema'
import { db } from '../src/infra/db'
import { key, redis } from '../src/infra/redis'
import { admitAtTheDoor, OutOfStockError, reconcileGate, returnGateTicket } from '../src/modules/inventory/service'
import { claimedMarker, fingerprintOf, seedClaimMarkers } from '../src/plugins/idempotency'
import { markersCompleteKey } from '../src/plugins/idempotency/store'
import { createUser, metricSum, req } from './helpers'
import { newKey, order, productWithStock } from './orders-fixtures'

/** Units the gate holds for a product (its counter). */
const gateUnits = async (id: string) => Number(await redis()!.hget(key('gate', id), 'a'))
/** A door marker for a fresh (user, key). */
const freshMarker = () => claimedMarker(Bun.randomUUIDv7(), newKey())

const fastPathRejections = () => metricSum('inventory_reservations_total', { strategy: 'gated-fast-path' })

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

  test("once sold out, a retry of a committed key replays its 201 even after Redis lost the key's marker", async () => {
    const productId = await productWithStock(1)
    const winner = await createUser()
    const winnerKey = newKey()
    const first = await order(winner.token, [{ productId, quantity: 1 }], winnerKey)
    expect(first.status).toBe(201)
    // A Redis restart, a failover: the key's marker goes, and markers-complete with it.
    expect(await redis()!.del(claimedMarker(winner.id, winnerKey).key, markersCompleteKey())).toBeGreaterThanOrEqual(1)
    for (let i = 0; i < 2; i++) {
      const replay = await order(winner.token, [{ productId, quantity: 1 }], winnerKey)
      expect(replay.status).toBe(201)
      expect(replay.headers.get('idempotent-replayed')).toBe('true')
      expect(replay.text).toBe(first.text)
    }
    // Everyone else is still refused at the door, without a claim.
    const loser = await createUser()
    const loserKey = newKey()
    const before = await fastPathRejections()
    const refused = await order(loser.token, [{ productId, quantity: 1 }], loserKey)
    expect(refused.status).toBe(409)
    expect(refused.body.code).toBe('out_of_stock')
    expect(await fastPathRejections()).toBe(before + 1)
    expect(await claimed(loser.id, loserKey)).toBe(0)
  })

  test('once every held key has its marker, the door refuses from Redis alone; after a loss it asks Postgres until the markers are seeded again', async () => {
    const productId = await productWithStock(1)
    const winner = await createUser()
    const winnerKey = newKey()
    const first = await order(winner.token, [{ productId, quantity: 1 }], winnerKey)
    expect(first.status).toBe(201)
    const lookups = () => metricSum('checkout_held_key_lookups_total')
    try {
      // The worker's recovery seeds the markers of every held key, then says they are complete.
      expect(await seedClaimMarkers({ rebuild: true })).toBeGreaterThanOrEqual(1)
      const before = await lookups()
      const refused = await order((await createUser()).token, [{ productId, quantity: 1 }])
      expect(refused.status).toBe(409)
      expect(refused.body.code).toBe('out_of_stock')
      expect(await lookups()).toBe(before) // no Postgres lookup
      const replay = await order(winner.token, [{ productId, quantity: 1 }], winnerKey)
      expect(replay.headers.get('idempotent-replayed')).toBe('true')

      // Redis restarted empty: the marker and markers-complete are gone together.
      await redis()!.del(claimedMarker(winner.id, winnerKey).key, markersCompleteKey())
      const again = await order(winner.token, [{ productId, quantity: 1 }], winnerKey)
      expect(again.status).toBe(201)
      expect(again.text).toBe(first.text)
      const loser = await order((await createUser()).token, [{ productId, quantity: 1 }])
      expect(loser.status).toBe(409)
      expect(await lookups()).toBe(before + 2) // both asked Postgres: the retry found its key held
      // Seeding again (markers-complete missing) restores the winner's marker.
      expect(await seedClaimMarkers()).toBeGreaterThanOrEqual(1)
      expect(await redis()!.exists(claimedMarker(winner.id, winnerKey).key, markersCompleteKey())).toBe(2)
      expect(await seedClaimMarkers()).toBe(0) // complete: nothing to do
    } finally {
      // The other tests here make keys without markers by hand.
      await redis()!.del(markersCompleteKey())
    }
  })

  test("a key still in progress gets 409 idempotency_in_progress from a sold-out product, not the gate's out_of_stock", async () => {
    const productId = await productWithStock(1)
    const u = await createUser()
    expect((await order(u.token, [{ productId, quantity: 1 }])).status).toBe(201)
    // Another request of this key is running (its claim exists; Redis has no marker for it: it was
    // made while Redis was unreachable, which withdraws markers-complete).
    await redis()!.del(markersCompleteKey())
    const k = newKey()
    const items = [{ productId, quantity: 1 }]
    await db.insert(idempotencyKeys).values({
      userId: u.id,
      key: k,
      fingerprint: fingerprintOf('POST', '/api/v1/orders', { items }),
      method: 'POST',
      path: '/api/v1/orders',
      expiresAt: new Date(Date.now() + 3_600_000),
    })
    const retry = await order(u.token, items, k)
    expect(retry.status).toBe(409)
    expect(retry.body.code).toBe('idempotency_in_progress')
  })

  test("a sold-out product that is then deleted gets the full path's 422, not the gate's 409; so does an unknown id", async () => {
    const productId = await productWithStock(1)
    const admin = await createUser('admin')
    const u = await createUser()
    expect((await order(u.token, [{ productId, quantity: 1 }])).status).toBe(201)
    expect((await order(u.token, [{ productId, quantity: 1 }])).status).toBe(409) // the gate knows it is gone
    expect((await req('DELETE', `/api/v1/products/${productId}`, { token: admin.token })).status).toBe(204)
    const before = await fastPathRejections()
    const gone = await order(u.token, [{ productId, quantity: 1 }])
    expect(gone.status).toBe(422)
    expect(gone.body.errors[0].field).toBe('items.0.productId')
    const unknown = await order(u.token, [{ productId: Bun.randomUUIDv7(), quantity: 1 }])
    expect(unknown.status).toBe(422)
    expect(await order(u.token, [{ productId: Bun.randomUUIDv7(), quantity: 1 }]).then((r) => r.status)).toBe(422)
    expect(await fastPathRejections()).toBe(before)
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

  test('a crowd of 100 for 5 units: only 5 requests ever reach Postgres (claim a key); the rest are refused at the door', async () => {
    const productId = await productWithStock(5)
    const buyers = await Promise.all(Array.from({ length: 20 }, () => createUser()))
    const keys = Array.from({ length: 100 }, () => newKey())
    const rs = await Promise.all(keys.map((k, i) => order(buyers[i % 20]!.token, [{ productId, quantity: 1 }], k)))
    expect(rs.filter((r) => r.status === 201)).toHaveLength(5)
    expect(rs.filter((r) => r.status === 409)).toHaveLength(95)
    const claims = await Promise.all(keys.map((k, i) => claimed(buyers[i % 20]!.id, k)))
    expect(claims.reduce((a, b) => a + b, 0)).toBe(5)
  })

  test("the door sets the key's marker in the same call as it admits (the claim then skips its SET), and never when it refuses", async () => {
    const productId = await productWithStock(1)
    const admitted = freshMarker()
    const ticket = await admitAtTheDoor([{ productId, quantity: 1 }], admitted, 'gated')
    expect(ticket).not.toBeNull()
    expect(await redis()!.ttl(admitted.key)).toBeGreaterThan(admitted.ttlSeconds - 60)
    const refused = freshMarker()
    await expect(admitAtTheDoor([{ productId, quantity: 1 }], refused, 'gated')).rejects.toBeInstanceOf(OutOfStockError)
    expect(await redis()!.exists(refused.key)).toBe(0)
    await returnGateTicket(ticket!)
    // The marker now sends that key's retry past the door, to the full path (which replays).
    expect(await admitAtTheDoor([{ productId, quantity: 1 }], admitted, 'gated')).toBeNull()
  })

  test('a TAKE failing inside a shared pipeline fails only its caller, is never sent twice, and sends the door to a reconcile', async () => {
    const good = await productWithStock(5)
    const bad = await productWithStock(5)
    const r = redis()!
    const warm = await admitAtTheDoor([{ productId: good, quantity: 1 }], freshMarker(), 'gated') // loads the counter
    await returnGateTicket(warm!)
    expect(await gateUnits(good)).toBe(5)
    await r.set(key('gate', bad), 'not a hash') // a TAKE on it answers WRONGTYPE
    // Same turn: one pipeline with both TAKEs.
    const [ok, broken] = await Promise.all([
      admitAtTheDoor([{ productId: good, quantity: 1 }], freshMarker(), 'gated'),
      admitAtTheDoor([{ productId: bad, quantity: 1 }], freshMarker(), 'gated'),
    ])
    expect(ok).not.toBeNull()
    expect(broken).toBeNull()
    expect(await gateUnits(good)).toBe(4) // taken once, not again by a retry
    // A lost answer may have taken units: the door stands aside until the counters are reloaded.
    expect(await admitAtTheDoor([{ productId: good, quantity: 1 }], freshMarker(), 'gated')).toBeNull()
    await returnGateTicket(ok!)
    await r.del(key('gate', bad))
    await reconcileGate()
    expect(await gateUnits(good)).toBe(5)
    const again = await admitAtTheDoor([{ productId: good, quantity: 1 }], freshMarker(), 'gated')
    expect(again).not.toBeNull()
    await returnGateTicket(again!)
  })

  test('units taken at the door come back when the request fails after it (422 mixed currencies)', async () => {
    const admin = await createUser('admin')
    const usd = await productWithStock(3)
    const eur = await req('POST', '/api/v1/products', {
      token: admin.token,
      body: { name: 'Euro thing', priceCents: 900, currency: 'EUR', initialStock: 3 },
    })
    expect(eur.status).toBe(201)
    const u = await createUser()
    // Load both counters.
    expect((await order(u.token, [{ productId: usd, quantity: 1 }])).status).toBe(201)
    expect((await order(u.token, [{ productId: eur.body.id, quantity: 1 }])).status).toBe(201)
    expect([await gateUnits(usd), await gateUnits(eur.body.id)]).toEqual([2, 2])
    const mixed = await order(u.token, [
      { productId: usd, quantity: 2 },
      { productId: eur.body.id, quantity: 2 },
    ])
    expect(mixed.status).toBe(422)
    // afterResponse gives the units back right after the response; allow it a moment.
    for (let i = 0; i < 50 && (await gateUnits(usd)) !== 2; i++) await Bun.sleep(10)
    expect([await gateUnits(usd), await gateUnits(eur.body.id)]).toEqual([2, 2])
    // And they are really sellable: two more of each still go through.
    expect((await order(u.token, [{ productId: usd, quantity: 2 }])).status).toBe(201)
    expect((await order(u.token, [{ productId: eur.body.id, quantity: 2 }])).status).toBe(201)
  })
})
