// The boot warm-up (src/tuning/warmup.ts) against a real API process: it runs before the process
// listens, gets the answers it expects even under a tight write limit (its requests go through
// every plugin like a client's, each round a made-up user of its own), and leaves nothing behind:
// no orders, no idempotency keys, no gate counter in Redis, no request log lines, no HTTP metrics,
// no refusals in the inventory counters.
import { afterAll, expect, test } from 'bun:test'
import { sql } from '../src/infra/db'
import { key, withRedis } from '../src/infra/redis'
import { type ApiProcess, startApi } from './helpers'

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
  // 40 rounds = 80 order POSTs, against a limit of 5 writes a minute per user.
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
  expect(lines[warmed]).toMatchObject({ requests: 120 })
  expect(lines[warmed].stoppedAt).toBeUndefined()
  expect(listening).toBeGreaterThan(warmed)
  // Its requests are not client traffic: no request log lines, no samples for the orders route.
  expect(lines.filter((l) => l.msg === 'request' && l.route === '/api/v1/orders')).toEqual([])
  expect(metrics).not.toContain('route="/api/v1/orders"')
  expect(metrics).toMatch(/^inventory_gate_rejections_total 0$/m)
  expect(metrics).not.toContain('outcome="out_of_stock"')
  expect(await counts()).toEqual(before)
  // No gate key appeared while the process warmed up and ran.
  const gateKeysAfter = await gateKeys()
  expect([...gateKeysAfter].filter((k) => !gateKeysBefore.has(k))).toEqual([])
})
