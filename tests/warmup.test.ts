// The boot warm-up (src/warmup.ts) against a real API process: it runs before the process listens,
// gets the answers it expects even under a tight write limit (its requests are the process's own),
// and writes nothing: no orders, no idempotency keys, no request log lines, no HTTP metrics.
import { afterAll, expect, test } from 'bun:test'
import { sql } from '../src/infra/db'
import { type ApiProcess, startApi } from './helpers'

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
  // 40 rounds = 80 order POSTs by one (made-up) user, against a limit of 5 writes a minute.
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
  expect(await counts()).toEqual(before)
})
