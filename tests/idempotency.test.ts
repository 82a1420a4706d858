// Idempotency-Key semantics on the real checkout route, plus the plugin on its own (any route can
// opt in): replay byte for byte, in-flight 409, mismatch 422, 4xx stored, 5xx released, 24 h expiry,
// and 20 simultaneous duplicates → one order and one reservation.

import { describe, expect, test } from 'bun:test'
import { and, eq, sql } from 'drizzle-orm'
import { Elysia, t } from 'elysia'
import { idempotencyKeys, orders } from '../db/schema'
import { config } from '../src/config'
import { db, sql as pg } from '../src/infra/db'
import { ConflictError } from '../src/lib/errors'
import { purgeExpiredIdempotencyKeys } from '../src/modules/orders/service'
import { authPlugin } from '../src/plugins/auth'
import { errorsPlugin } from '../src/plugins/errors'
import { canonicalJson, completeClaims, fingerprintOf, idempotencyPlugin } from '../src/plugins/idempotency'
import { createUser, req, startApi } from './helpers'
import { newKey, order, productWithStock, reservationsOf, stock } from './orders-fixtures'

describe('Idempotency-Key on POST /orders', () => {
  test('same key + same request → the stored response, byte for byte, with Idempotent-Replayed', async () => {
    const u = await createUser()
    const a = await productWithStock(10)
    const key = newKey()
    const first = await order(u.token, [{ productId: a, quantity: 2 }], key)
    expect(first.status).toBe(201)
    expect(first.headers.get('idempotent-replayed')).toBeNull()
    // Same JSON with keys in another order is the same request.
    const again = await req('POST', '/api/v1/orders', {
      token: u.token,
      raw: `{"items":[{"quantity":2,"productId":"${a}"}]}`,
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
    })
    expect(again.status).toBe(201)
    expect(again.text).toBe(first.text)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(again.headers.get('content-type')).toBe(first.headers.get('content-type'))
    expect(again.headers.get('location')).toBe(first.headers.get('location'))
    expect(await stock(a)).toEqual({ onHand: 10, reserved: 2 })
    expect(await db.select().from(orders).where(eq(orders.userId, u.id))).toHaveLength(1)
  })

  test('30 concurrent checkouts (their completions stored together) each replay their own response', async () => {
    const buyers = await Promise.all(Array.from({ length: 30 }, () => createUser()))
    const a = await productWithStock(100)
    const keys = buyers.map(() => newKey())
    const firsts = await Promise.all(buyers.map((u, i) => order(u.token, [{ productId: a, quantity: 1 + (i % 3) }], keys[i]!)))
    expect(firsts.map((r) => r.status)).toEqual(firsts.map(() => 201))
    const agains = await Promise.all(buyers.map((u, i) => order(u.token, [{ productId: a, quantity: 1 + (i % 3) }], keys[i]!)))
    for (const [i, again] of agains.entries()) {
      expect(again.headers.get('idempotent-replayed')).toBe('true')
      expect(again.text).toBe(firsts[i]!.text)
      expect(again.headers.get('location')).toBe(firsts[i]!.headers.get('location'))
    }
    expect(new Set(firsts.map((r) => r.body.id)).size).toBe(30)
  })

  test('claims of one moment (fresh, replayed, mismatched and duplicated keys together) each get their own answer', async () => {
    const [u, v] = await Promise.all([createUser(), createUser()])
    const a = await productWithStock(100)
    const done = newKey()
    const first = await order(u.token, [{ productId: a, quantity: 1 }], done)
    expect(first.status).toBe(201)
    const dup = newKey()
    const fresh = Array.from({ length: 8 }, () => newKey())
    const rs = await Promise.all([
      order(u.token, [{ productId: a, quantity: 1 }], done), // replay
      order(u.token, [{ productId: a, quantity: 2 }], done), // same key, other request
      order(v.token, [{ productId: a, quantity: 1 }], done), // same key, other user: a fresh claim
      order(u.token, [{ productId: a, quantity: 3 }], dup),
      order(u.token, [{ productId: a, quantity: 3 }], dup), // the same key twice in one moment
      ...fresh.map((k) => order(v.token, [{ productId: a, quantity: 1 }], k)),
    ])
    expect([rs[0]!.status, rs[1]!.status, rs[2]!.status]).toEqual([201, 422, 201])
    expect(rs.slice(5).map((r) => r.status)).toEqual(fresh.map(() => 201))
    expect(rs[0]!.text).toBe(first.text)
    expect(rs[0]!.headers.get('idempotent-replayed')).toBe('true')
    expect(rs[1]!.body.code).toBe('idempotency_mismatch')
    expect(rs[2]!.body.id).not.toBe(first.body.id)
    // The duplicated key ran once: one 201, the other a 409 in progress or the replay of that 201.
    const pair = [rs[3]!, rs[4]!]
    expect(pair.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null)).toHaveLength(1)
    for (const r of pair.filter((r) => r.status !== 201)) expect(r.body.code).toBe('idempotency_in_progress')
    expect(await db.select().from(orders).where(eq(orders.userId, u.id))).toHaveLength(2)
    expect(await db.select().from(orders).where(eq(orders.userId, v.id))).toHaveLength(9)
    expect(await stock(a)).toEqual({ onHand: 100, reserved: 1 + 1 + 3 + 8 })
  })

  test('one key sent six times at once with two bodies: one runs, its copies wait (409), the others are 422', async () => {
    const u = await createUser()
    const a = await productWithStock(100)
    const key = newKey()
    const qty = [1, 2, 2, 2, 2, 1]
    const rs = await Promise.all(qty.map((q) => order(u.token, [{ productId: a, quantity: q }], key)))
    const won = rs.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null)
    expect(won).toHaveLength(1)
    const winnerQty = won[0]!.body.items[0].quantity
    for (const [i, r] of rs.entries()) {
      if (r === won[0]) continue
      if (qty[i] === winnerQty) expect([409, 201]).toContain(r.status)
      else expect(r.body.code).toBe('idempotency_mismatch')
    }
  })

  test('an expired key taken over by another request meanwhile is not answered from the old row', async () => {
    const u = await createUser()
    const a = await productWithStock(10)
    const key = newKey()
    const body = { items: [{ productId: a, quantity: 1 }] }
    // The key's old use: completed, expired, and the same request as the one we are about to send.
    await pg`insert into idempotency_keys (user_id, key, fingerprint, method, path, state, response_status, response_body, created_at, expires_at)
      values (${u.id}, ${key}, ${fingerprintOf('POST', '/api/v1/orders', body)}, 'POST', '/api/v1/orders', 'completed', 201, '{"old":true}',
              now() - interval '2 days', now() - interval '1 day')`
    // Another request takes the expired row over and holds it (not committed yet)...
    const other = await pg.reserve()
    try {
      await other`begin`
      await other`update idempotency_keys set fingerprint = 'another request', state = 'in_progress', response_status = null,
        response_body = null, created_at = now(), expires_at = now() + interval '1 day' where user_id = ${u.id} and key = ${key}`
      // ...while ours arrives: its claim waits on that row, with a snapshot that still shows the old use.
      const ours = req('POST', '/api/v1/orders', { token: u.token, body, headers: { 'idempotency-key': key } })
      await Bun.sleep(300)
      await other`commit`
      const r = await ours
      expect(r.text).not.toContain('old')
      expect(r.status).toBe(422)
      expect(r.body.code).toBe('idempotency_mismatch')
    } finally {
      other.release()
    }
  })

  test("completions lock their keys in the claims' order, whatever order they arrive in", async () => {
    const u = await createUser()
    // 'b' is written first (and so comes first on disk) and completes first; the claims lock 'a' first.
    for (const key of ['b', 'a'])
      await pg`insert into idempotency_keys (user_id, key, fingerprint, method, path, state, expires_at)
        values (${u.id}, ${key}, 'fp', 'POST', '/x', 'in_progress', now() + interval '1 day')`
    const holder = await pg.reserve()
    const probe = await pg.reserve()
    try {
      await holder`begin`
      await holder`select 1 from idempotency_keys where user_id = ${u.id} and key = 'b' for update`
      // One batch (same turn), 'b' first: it must take 'a' and then wait for 'b'. Locking 'b' first
      // (and 'a' only after it) is the order a claim batch could deadlock with.
      const done = Promise.all(
        ['b', 'a'].map((key) => completeClaims({ claim: { userId: u.id, key }, status: 201, body: key, headers: {} })),
      )
      // Once the completion waits for 'b', whatever it locks first is locked.
      for (let i = 0; i < 100; i++) {
        const [w] = await pg`select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and query like '%update idempotency_keys k%'`
        if (w?.n) break
        await Bun.sleep(50)
      }
      await probe`begin`
      const aFree = await probe`select 1 from idempotency_keys where user_id = ${u.id} and key = 'a' for update nowait`.then(
        () => true,
        (err) => (err.code === '55P03' ? false : Promise.reject(err)),
      )
      await probe`rollback`
      expect(aFree).toBe(false)
      await holder`rollback`
      await done
      const rows = await pg<{ key: string; state: string; response_body: string }[]>`
        select key, state, response_body from idempotency_keys where user_id = ${u.id} order by key`
      expect([...rows]).toEqual([
        { key: 'a', state: 'completed', response_body: 'a' },
        { key: 'b', state: 'completed', response_body: 'b' },
      ])
    } finally {
      holder.release()
      probe.release()
    }
  })

  test('same key + different request → 422 idempotency_mismatch; keys are per user', async () => {
    const [u, v] = await Promise.all([createUser(), createUser()])
    const a = await productWithStock(10)
    const key = newKey()
    expect((await order(u.token, [{ productId: a, quantity: 1 }], key)).status).toBe(201)
    const other = await order(u.token, [{ productId: a, quantity: 3 }], key)
    expect(other.status).toBe(422)
    expect(other.body.code).toBe('idempotency_mismatch')
    // Another user may use the same key string for their own request.
    expect((await order(v.token, [{ productId: a, quantity: 3 }], key)).status).toBe(201)
    expect(await stock(a)).toEqual({ onHand: 10, reserved: 4 })
  })

  test('4xx outcomes of an executed request are stored: a retry after out_of_stock gets the same 409 even after a restock', async () => {
    // Under `pessimistic` the out_of_stock comes from the executed checkout (no gate fast path).
    const strategy = config.INVENTORY_STRATEGY
    config.INVENTORY_STRATEGY = 'pessimistic'
    try {
      const u = await createUser()
      const admin = await createUser('admin')
      const a = await productWithStock(1)
      const key = newKey()
      const first = await order(u.token, [{ productId: a, quantity: 2 }], key)
      expect(first.status).toBe(409)
      await req('POST', `/api/v1/inventory/${a}/restock`, { token: admin.token, body: { quantity: 10 } })
      const again = await order(u.token, [{ productId: a, quantity: 2 }], key)
      expect(again.status).toBe(409)
      expect(again.text).toBe(first.text)
      expect(again.headers.get('idempotent-replayed')).toBe('true')
      expect(again.headers.get('content-type')).toContain('application/problem+json')
      // A new key is a new attempt.
      expect((await order(u.token, [{ productId: a, quantity: 2 }])).status).toBe(201)
    } finally {
      config.INVENTORY_STRATEGY = strategy
    }
  })

  test('a sold-out answer from the gate (before execution) is not stored: after a restock the same key succeeds', async () => {
    const u = await createUser()
    const admin = await createUser('admin')
    const a = await productWithStock(1)
    const key = newKey()
    const first = await order(u.token, [{ productId: a, quantity: 2 }], key)
    expect(first.status).toBe(409)
    expect(first.body.code).toBe('out_of_stock')
    await req('POST', `/api/v1/inventory/${a}/restock`, { token: admin.token, body: { quantity: 10 } })
    const again = await order(u.token, [{ productId: a, quantity: 2 }], key)
    expect(again.status).toBe(201)
    expect(again.headers.get('idempotent-replayed')).toBeNull()
  })

  test('same key while the first request is still running → 409 idempotency_in_progress', async () => {
    const u = await createUser()
    const a = await productWithStock(5)
    const key = newKey()
    // Hold the inventory row so the first checkout blocks inside its reservation.
    let unlock: () => void = () => {}
    const locked = new Promise<void>((r) => {
      unlock = r
    })
    let holding: () => void = () => {}
    const held = new Promise<void>((r) => {
      holding = r
    })
    const blocker = pg.begin(async (tx) => {
      await tx`select 1 from inventory where product_id = ${a} for update`
      holding()
      await locked
    })
    await held
    const first = order(u.token, [{ productId: a, quantity: 1 }], key)
    // Wait until the first request has claimed the key.
    for (let i = 0; i < 200; i++) {
      const [row] = await db
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.userId, u.id), eq(idempotencyKeys.key, key)))
      if (row) break
      await Bun.sleep(10)
    }
    const second = await order(u.token, [{ productId: a, quantity: 1 }], key)
    expect(second.status).toBe(409)
    expect(second.body.code).toBe('idempotency_in_progress')
    unlock()
    await blocker
    const done = await first
    expect(done.status).toBe(201)
    const third = await order(u.token, [{ productId: a, quantity: 1 }], key)
    expect(third.text).toBe(done.text)
    expect(await stock(a)).toEqual({ onHand: 5, reserved: 1 })
  })

  test('20 simultaneous identical requests → exactly one order and one reservation', async () => {
    const u = await createUser()
    const a = await productWithStock(100)
    const key = newKey()
    const results = await Promise.all(Array.from({ length: 20 }, () => order(u.token, [{ productId: a, quantity: 1 }], key)))
    const created = results.filter((r) => r.status === 201)
    expect(created.length).toBeGreaterThanOrEqual(1)
    for (const r of results) expect([201, 409]).toContain(r.status)
    for (const r of results.filter((r) => r.status === 409)) expect(r.body.code).toBe('idempotency_in_progress')
    // Every 201 is the same order (first or replay).
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1)
    const mine = await db.select().from(orders).where(eq(orders.userId, u.id))
    expect(mine).toHaveLength(1)
    expect(await reservationsOf(mine[0]!.id)).toHaveLength(1)
    expect(await stock(a)).toEqual({ onHand: 100, reserved: 1 })
  })

  test('20 identical requests spread over two API processes → still one order', async () => {
    // Small pools: the shared test Postgres has 100 connections for everyone.
    const apis = await Promise.all([startApi({ DATABASE_POOL_MAX: '4' }), startApi({ DATABASE_POOL_MAX: '4' })])
    try {
      const u = await createUser()
      const a = await productWithStock(100)
      const key = newKey()
      const body = JSON.stringify({ items: [{ productId: a, quantity: 2 }] })
      const results = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const res = await fetch(`${apis[i % 2]!.url}/api/v1/orders`, {
            method: 'POST',
            headers: { authorization: `Bearer ${u.token}`, 'content-type': 'application/json', 'idempotency-key': key },
            body,
          })
          return { status: res.status, body: (await res.json()) as { id?: string; code?: string } }
        }),
      )
      // Diagnostics first: a 5xx shows its body (e.g. a shared Postgres out of connections).
      expect(results.filter((r) => r.status !== 201 && r.status !== 409)).toEqual([])
      expect(new Set(results.filter((r) => r.status === 201).map((r) => r.body.id)).size).toBe(1)
      expect(await db.select().from(orders).where(eq(orders.userId, u.id))).toHaveLength(1)
      expect(await stock(a)).toEqual({ onHand: 100, reserved: 2 })
    } finally {
      await Promise.all(apis.map((x) => x.stop()))
    }
  }, 30_000)

  test('keys expire after the TTL; expired keys are purged', async () => {
    const u = await createUser()
    const a = await productWithStock(10)
    const key = newKey()
    const first = await order(u.token, [{ productId: a, quantity: 1 }], key)
    const [row] = await db
      .select()
      .from(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, u.id), eq(idempotencyKeys.key, key)))
    expect(row!.expiresAt.getTime() - row!.createdAt.getTime()).toBe(24 * 3600 * 1000)
    expect(row!.state).toBe('completed')
    await db.execute(sql`update idempotency_keys set expires_at = now() - interval '1 second' where user_id = ${u.id}`)
    // An expired key starts a new request (the old order stays; the DB fence sees the same key
    // on this user's orders and hands back the first order instead of a duplicate).
    const later = await order(u.token, [{ productId: a, quantity: 1 }], key)
    expect(later.status).toBe(201)
    expect(later.body.id).toBe(first.body.id)
    await db.execute(sql`update idempotency_keys set expires_at = now() - interval '1 second' where user_id = ${u.id}`)
    expect(await purgeExpiredIdempotencyKeys()).toBeGreaterThanOrEqual(1)
    expect(await db.select().from(idempotencyKeys).where(eq(idempotencyKeys.userId, u.id))).toHaveLength(0)
  })
})

describe('the plugin on any route', () => {
  let calls = 0
  let failNext = false
  const demo = new Elysia()
    .use(errorsPlugin)
    .use(authPlugin)
    .use(idempotencyPlugin)
    .post(
      '/demo',
      ({ body, set }) => {
        calls++
        if (failNext) {
          failNext = false
          throw new Error('boom')
        }
        if (body.n < 0) throw new ConflictError('negative', 'negative')
        set.status = 201
        return { n: body.n, call: calls }
      },
      { auth: 'customer', idempotent: true, body: t.Object({ n: t.Integer() }) },
    )
  const call = async (token: string, key: string, n: number) => {
    const res = await demo.handle(
      new Request('http://localhost/demo', {
        method: 'POST',
        body: JSON.stringify({ n }),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'idempotency-key': key },
      }),
    )
    return { status: res.status, text: await res.text(), replayed: res.headers.get('idempotent-replayed') }
  }

  test('5xx releases the key (a retry runs again); success and 4xx are replayed', async () => {
    const u = await createUser()
    const key = newKey()
    failNext = true
    const before = calls
    expect((await call(u.token, key, 1)).status).toBe(500)
    const ok = await call(u.token, key, 1)
    expect(ok.status).toBe(201)
    expect(calls - before).toBe(2)
    const replay = await call(u.token, key, 1)
    expect(replay).toEqual({ ...ok, replayed: 'true' })
    expect(calls - before).toBe(2)

    const k2 = newKey()
    const conflict = await call(u.token, k2, -1)
    expect(conflict.status).toBe(409)
    expect((await call(u.token, k2, -1)).text).toBe(conflict.text)
    expect(calls - before).toBe(3)
  })

  test('quoted (structured-field) keys are the same key; a stale in-progress claim can be retried', async () => {
    const u = await createUser()
    const key = newKey()
    const a = await call(u.token, `"${key}"`, 7)
    expect((await call(u.token, key, 7)).replayed).toBe('true')
    expect(a.status).toBe(201)
    // A claim whose process died long ago (in_progress past the lock timeout) is taken over.
    const k3 = newKey()
    await db.insert(idempotencyKeys).values({
      userId: u.id,
      key: k3,
      fingerprint: fingerprintOf('POST', '/demo', { n: 3 }),
      method: 'POST',
      path: '/demo',
      createdAt: new Date(Date.now() - 3600_000),
      expiresAt: new Date(Date.now() + 3600_000),
    })
    expect((await call(u.token, k3, 3)).status).toBe(201)
  })

  test('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 1, e: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"e":2,"f":1}]},"b":1}')
    expect(fingerprintOf('POST', '/x', { a: 1, b: 2 })).toBe(fingerprintOf('POST', '/x', { b: 2, a: 1 }))
    expect(fingerprintOf('POST', '/x', { a: 1 })).not.toBe(fingerprintOf('POST', '/y', { a: 1 }))
  })
})
