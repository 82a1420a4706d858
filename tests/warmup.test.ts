// The boot warm-up (src/warmup.ts) against a real API process: it runs before the process listens,
// gets the answers it expects even under a tight write limit (its requests are the process's own),
// including the checkout door's 409 for its sold-out probe, and leaves nothing behind: no orders,
// no idempotency keys, no probe counter in Redis, no request log lines, no HTTP metrics, no
// refusals in the inventory counters. And the guard that makes that safe: an own request that the
// door does not refuse is stopped before it could claim an Idempotency-Key.
import { afterAll, expect, test } from 'bun:test'
import { app } from '../src/app'
import { sql } from '../src/infra/db'
import { key, withRedis } from '../src/infra/redis'
import { ownRequest } from '../src/lib/own-requests'
import { type ApiProcess, createUser, startApi } from './helpers'

const gateKeys = async () =>
  new Set(
    await withRedis(
      (r) => r.keys(key('gate', '*')),
      () => {
        throw new Error('Redis is not usable')
      },
    ),
  )

const started: ApiProcess[] = []
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()))
})

const counts = async () =>
  (
    await sql<{ orders: number; keys: number }[]>`
      select (select count(*)::int from orders) as orders, (select count(*)::int from idempotency_keys) as keys`
  )[0]

test('warms up before listening, past a write limit smaller than its requests, and writes nothing', async () => {
  const before = await counts()
  const gateKeysBefore = await gateKeys()
  // 40 rounds = 120 order POSTs by one (made-up) user, against a limit of 5 writes a minute.
  const api = await startApi({ LOG_LEVEL: 'info', WARMUP_ROUNDS: '40', RATE_LIMIT_WRITE: '5/60' }, { stdout: 'pipe' })
  started.push(api)
  const metrics = await (await fetch(`${api.url}/metrics`)).text()
  await api.stop()
  const lines = (await new Response(api.proc.stdout as ReadableStream).text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
  const warmed = lines.findIndex((l) => l.msg === 'warmed up')
  const listening = lines.findIndex((l) => String(l.msg).startsWith('Stampede API listening'))
  expect(warmed).toBeGreaterThanOrEqual(0)
  expect(lines[warmed]).toMatchObject({ requests: 160, soldOut: 40 })
  expect(lines[warmed].stoppedAt).toBeUndefined()
  expect(listening).toBeGreaterThan(warmed)
  // Its requests are not client traffic: no request log lines, no samples for the orders route.
  expect(lines.filter((l) => l.msg === 'request' && l.route === '/api/v1/orders')).toEqual([])
  expect(metrics).not.toContain('route="/api/v1/orders"')
  expect(metrics).toMatch(/^inventory_gate_rejections_total 0$/m)
  expect(metrics).not.toContain('outcome="out_of_stock"')
  expect(await counts()).toEqual(before)
  // The probe's gate counter is gone: no gate key appeared while the process warmed up and ran.
  const gateKeysAfter = await gateKeys()
  expect([...gateKeysAfter].filter((k) => !gateKeysBefore.has(k))).toEqual([])
})

test('an own request the checkout door does not refuse is stopped before it claims an Idempotency-Key', async () => {
  const user = await createUser()
  const unknownProduct = Bun.randomUUIDv7() // the gate does not vouch for it: the door steps aside
  const res = await app.handle(
    ownRequest('http://localhost/api/v1/orders', {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json', 'idempotency-key': 'own-1' },
      body: JSON.stringify({ items: [{ productId: unknownProduct, quantity: 1 }] }),
    }),
  )
  expect(res.status).toBe(503)
  expect(((await res.json()) as { code: string }).code).toBe('own_request')
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from idempotency_keys where user_id = ${user.id}`
  expect(row?.n).toBe(0)
  // The same request from a client goes on: its key is claimed, and the unknown product is a 422.
  const client = await app.handle(
    new Request('http://localhost/api/v1/orders', {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json', 'idempotency-key': 'own-1' },
      body: JSON.stringify({ items: [{ productId: unknownProduct, quantity: 1 }] }),
    }),
  )
  expect(client.status).toBe(422)
})
