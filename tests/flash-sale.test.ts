// The flash sale through the real purchase path (POST /api/v1/orders) against two real API
// processes per strategy: 500 concurrent buyers, stock 50 → exactly 50 orders, the rest 409, no
// 5xx, ledger clean. Then Redis is killed in the middle of a sale (our own redis-server).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { checkInventory } from '../scripts/inventory-check'
import { sql } from '../src/infra/db'
import type { Strategy } from '../src/modules/inventory/service'
import { buy, createUser, freePort, type Outcome, startApi } from './helpers'
import { productWithStock, stock } from './inventory-fixtures'

const STRATEGIES: Strategy[] = ['gated', 'pessimistic', 'optimistic']
const BUYERS = 500
const STOCK = 50

let buyers: string[] = []
// Postgres' max_connections is shared with every other test run on the machine: small pools.
// 250 buyers per process queue for 4 connections, on a shared 2-core box for longer than the
// production deadline allows (they would be shed with 503 database_busy, tests/db-timeouts.test.ts):
// these tests are about who gets the stock, so every buyer waits for an answer.
const POOL = { DATABASE_POOL_MAX: '4', REQUEST_TIMEOUT_MS: '120000', DATABASE_ACQUIRE_TIMEOUT_MS: '120000' }

beforeAll(async () => {
  buyers = (await Promise.all(Array.from({ length: BUYERS }, () => createUser('customer')))).map((u) => u.token)
}, 60_000)

async function withApis<T>(env: Record<string, string>, fn: (urls: string[]) => Promise<T>): Promise<T> {
  const pair = await Promise.all([startApi({ ...POOL, ...env }), startApi({ ...POOL, ...env })])
  try {
    return await fn(pair.map((a) => a.url))
  } finally {
    await Promise.all(pair.map((a) => a.stop()))
  }
}

function tally(outcomes: Outcome[]) {
  const by = new Map<string, number>()
  for (const o of outcomes)
    by.set(`${o.status}${o.code ? ` ${o.code}` : ''}`, (by.get(`${o.status}${o.code ? ` ${o.code}` : ''}`) ?? 0) + 1)
  return Object.fromEntries(by)
}

describe.each(STRATEGIES)('flash sale, %s, 2 API processes', (strategy) => {
  test(`${BUYERS} concurrent orders for stock ${STOCK} → exactly ${STOCK} created, the rest 409 out_of_stock`, async () => {
    const productId = await productWithStock(STOCK)
    const outcomes = await withApis({ INVENTORY_STRATEGY: strategy }, (urls) =>
      Promise.all(buyers.map((token, i) => buy(urls[i % 2] as string, token, productId))),
    )
    expect(tally(outcomes)).toEqual({ 201: STOCK, '409 out_of_stock': BUYERS - STOCK })
    expect(await stock(productId)).toEqual({ onHand: STOCK, reserved: STOCK })
    const orders = await sql<{ n: number }[]>`
      select count(*)::int as n from order_items where product_id = ${productId}`
    expect(orders[0]?.n).toBe(STOCK)
    expect((await checkInventory(sql)).mismatches.filter((m) => m.productId === productId)).toEqual([])
  }, 60_000)
})

describe('Redis killed in the middle of a sale', () => {
  let redisProc: Bun.Subprocess | null = null
  const port = freePort()
  const startRedis = async () => {
    redisProc = Bun.spawn(['redis-server', '--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], {
      stdout: 'ignore',
      stderr: 'ignore',
    })
    for (let i = 0; i < 100; i++) {
      const ok = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } }).then(
        (s) => {
          s.end()
          return true
        },
        () => false,
      )
      if (ok) return
      await Bun.sleep(50)
    }
    throw new Error('redis-server did not start')
  }
  afterAll(() => {
    redisProc?.kill('SIGKILL')
  })

  test.each(['gated', 'pessimistic'] as Strategy[])(
    '%s: no oversell, no 5xx, the gate is right again once Redis is back',
    async (strategy) => {
      await startRedis()
      const env = { INVENTORY_STRATEGY: strategy, REDIS_URL: `redis://127.0.0.1:${port}` }
      const pair = await Promise.all([startApi({ ...POOL, ...env }), startApi({ ...POOL, ...env })])
      try {
        const productId = await productWithStock(120)
        const urls = pair.map((a) => a.url)
        const wave = (from: number, n: number) =>
          Promise.all(buyers.slice(from, from + n).map((t, i) => buy(urls[i % 2] as string, t, productId)))
        const outcomes: Outcome[] = []
        outcomes.push(...(await wave(0, 60)))
        // Kill Redis while the next wave is in flight.
        const inflight = wave(60, 100)
        await Bun.sleep(15)
        redisProc?.kill('SIGKILL')
        await redisProc?.exited
        outcomes.push(...(await inflight))
        outcomes.push(...(await wave(160, 60)))
        // Redis comes back (empty, as after a crash): the gate reloads from Postgres.
        await startRedis()
        await Bun.sleep(2500) // ioredis reconnect backoff + circuit breaker cooldown
        outcomes.push(...(await wave(220, 200)))
        expect(outcomes.filter((o) => o.status >= 500)).toEqual([])
        // The outage really happened under load: the engine fell back to Postgres alone.
        const metric = strategy === 'gated' ? 'inventory_gate_fallbacks_total' : 'inventory_lock_fallbacks_total'
        let fallbacks = 0
        for (const url of urls) {
          const text = await (await fetch(`${url}/metrics`)).text()
          for (const m of text.matchAll(new RegExp(`^${metric}\\{[^}]*\\} (\\d+)`, 'gm'))) fallbacks += Number(m[1])
        }
        expect(fallbacks).toBeGreaterThan(0)
        const created = outcomes.filter((o) => o.status === 201).length
        expect(created).toBe(120)
        expect(outcomes.length - created).toBe(outcomes.filter((o) => o.status === 409 && o.code === 'out_of_stock').length)
        expect(await stock(productId)).toEqual({ onHand: 120, reserved: 120 })
        expect((await checkInventory(sql)).mismatches.filter((m) => m.productId === productId)).toEqual([])
        if (strategy === 'gated') {
          const { default: Redis } = await import('ioredis')
          const r = new Redis(`redis://127.0.0.1:${port}`)
          const { key } = await import('../src/infra/redis')
          expect(await r.hget(key('gate', productId), 'a')).toBe('0')
          r.disconnect()
        }
      } finally {
        await Promise.all(pair.map((a) => a.stop()))
        redisProc?.kill('SIGKILL')
        await redisProc?.exited
      }
    },
    60_000,
  )
  test('gated: Redis paused with its data (stale counters) → reconciled on return, every unit still sells', async () => {
    await startRedis()
    const env = { INVENTORY_STRATEGY: 'gated', REDIS_URL: `redis://127.0.0.1:${port}` }
    const pair = await Promise.all([startApi({ ...POOL, ...env }), startApi({ ...POOL, ...env })])
    try {
      const admin = await createUser('admin')
      const productId = await productWithStock(60)
      const urls = pair.map((a) => a.url)
      const wave = (from: number, n: number) =>
        Promise.all(buyers.slice(from, from + n).map((t, i) => buy(urls[i % 2] as string, t, productId)))
      const outcomes: Outcome[] = []
      outcomes.push(...(await wave(0, 30))) // gate loaded: 30 left
      redisProc?.kill('SIGSTOP')
      outcomes.push(...(await wave(30, 20))) // sold on Postgres alone: the gate still says 30
      // A restock the gate cannot hear about: the counter is now 30 below the truth (60).
      const r = await fetch(`${urls[0]}/api/v1/inventory/${productId}/restock`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ quantity: 50 }),
      })
      expect(r.status).toBe(200)
      redisProc?.kill('SIGCONT')
      await Bun.sleep(1500) // circuit breaker cooldown
      outcomes.push(...(await wave(50, 120)))
      expect(outcomes.filter((o) => o.status >= 500)).toEqual([])
      // Without reconciliation the stale gate would have refused 30 sellable units.
      expect(outcomes.filter((o) => o.status === 201).length).toBe(110)
      expect(await stock(productId)).toEqual({ onHand: 110, reserved: 110 })
      expect((await checkInventory(sql)).mismatches.filter((m) => m.productId === productId)).toEqual([])
      const { default: Redis } = await import('ioredis')
      const { key } = await import('../src/infra/redis')
      const rc = new Redis(`redis://127.0.0.1:${port}`)
      expect(await rc.hget(key('gate', productId), 'a')).toBe('0')
      rc.disconnect()
    } finally {
      redisProc?.kill('SIGCONT')
      await Promise.all(pair.map((a) => a.stop()))
      redisProc?.kill('SIGKILL')
      await redisProc?.exited
    }
  }, 60_000)
})
