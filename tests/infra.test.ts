// Infrastructure behaviour: slow-query logging, the Redis breaker, and the typed Eden client.
import { describe, expect, spyOn, test } from 'bun:test'
import { treaty } from '@elysiajs/eden'
import { BrokenCircuitError, CircuitState } from 'cockatiel'
import { sql as dsql } from 'drizzle-orm'
import { app } from '../src/app'
import { config } from '../src/config'
import { db, pgOf, sql } from '../src/infra/db'
import { logger } from '../src/infra/logger'
import { withRedis } from '../src/infra/redis'
import { createCircuit } from '../src/lib/circuit-breaker'
import { metricSum } from './helpers'

describe('database', () => {
  test('statements slower than SLOW_QUERY_MS are counted and logged; fast ones are not', async () => {
    const before = await metricSum('db_slow_queries_total')
    await db.execute(dsql`select 1`)
    expect(await metricSum('db_slow_queries_total')).toBe(before)
    await db.execute(dsql`select pg_sleep(0.15)`)
    expect(await metricSum('db_slow_queries_total')).toBe(before + 1)
  })

  test('a flood of slow statements is counted in full but logged at most 10 lines per second', async () => {
    const warn = spyOn(logger, 'warn')
    try {
      const before = await metricSum('db_slow_queries_total')
      const t0 = performance.now()
      // 20 waves of 20 ms statements on the pool: all but the first few waves wait past SLOW_QUERY_MS.
      const n = 20 * config.DATABASE_POOL_MAX
      await Promise.all(Array.from({ length: n }, () => db.execute(dsql`select pg_sleep(0.02)`)))
      const seconds = (performance.now() - t0) / 1000
      const slow = (await metricSum('db_slow_queries_total')) - before
      const lines = warn.mock.calls.filter((c) => c[1] === 'slow query').length
      expect(slow).toBeGreaterThan(n / 2)
      expect(lines).toBeGreaterThan(0)
      expect(lines).toBeLessThanOrEqual(10 * (Math.ceil(seconds) + 1)) // windows it can straddle
      expect(lines).toBeLessThan(slow / 2)
      // …and the rest are summed up in one line when their second is over.
      await Bun.sleep(1100)
      const summed = warn.mock.calls
        .filter((c) => c[1] === 'more slow queries in this second than were logged')
        .reduce((a, c) => a + (c[0] as { unlogged: number }).unlogged, 0)
      expect(summed + lines).toBe(slow)
    } finally {
      warn.mockRestore()
    }
  })

  test('slow statements inside transactions are seen too', async () => {
    const before = await metricSum('db_slow_queries_total')
    await db.transaction(async (tx) => {
      await tx.execute(dsql`select pg_sleep(0.12)`)
    })
    expect(await metricSum('db_slow_queries_total')).toBe(before + 1)
  })

  test('tagged-template statements (the hot paths, through pgOf) are seen too: pool, transaction, savepoint', async () => {
    const warn = spyOn(logger, 'warn')
    try {
      const before = await metricSum('db_slow_queries_total')
      const [fast] = await sql<{ n: number }[]>`select ${41}::int + 1 as n where 1 = any(${sql.array([1, 2])}::int[])`
      expect(fast?.n).toBe(42)
      expect(await metricSum('db_slow_queries_total')).toBe(before)
      await sql`select pg_sleep(${0.12})`
      await db.transaction(async (tx) => {
        await pgOf(tx)`select pg_sleep(0.12)`
        await tx.transaction(async (sp) => {
          await pgOf(sp)`select pg_sleep(0.12), ${'savepoint'}::text`
        })
      })
      expect(await metricSum('db_slow_queries_total')).toBe(before + 3)
      const logged = warn.mock.calls.filter((c) => c[1] === 'slow query').map((c) => (c[0] as { query: string }).query)
      expect(logged).toContain('select pg_sleep($1)')
      expect(logged).toContain('select pg_sleep(0.12), $1::text')
    } finally {
      warn.mockRestore()
    }
  })
})

describe('postgres.js transaction reservation (patched; porsager/postgres#823, #1189)', () => {
  test('sql.begin reserves its connection even when BEGIN fills the pipeline', async () => {
    const { default: postgres } = await import('postgres')
    // max_pipeline 0 makes every BEGIN "fill the pipeline": unpatched, each begin() throws
    // UNSAFE_TRANSACTION and leaves a transaction open on a pooled connection.
    // max_pipeline is a real option that postgres.js's type definitions do not list.
    const options = { max: 2, max_pipeline: 0, onnotice: () => {} } as Parameters<typeof postgres>[1]
    const client = postgres(process.env.DATABASE_URL as string, options)
    try {
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => client.begin(async (tx) => (await tx`select ${i}::int as n, txid_current() as t`)[0])),
      )
      expect(results.map((r) => r?.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
      // Eight transactions, eight distinct transaction ids: none ran inside another.
      expect(new Set(results.map((r) => String(r?.t))).size).toBe(8)
    } finally {
      await client.end({ timeout: 5 })
    }
  })
})

describe('redis helpers', () => {
  test('withRedis runs against the real Redis and falls back on failure', async () => {
    expect(
      await withRedis(
        (r) => r.ping(),
        () => 'fallback',
      ),
    ).toBe('PONG')
    expect(
      await withRedis(
        () => Promise.reject(new Error('boom')),
        () => 'fallback',
      ),
    ).toBe('fallback')
  })

  test('circuit breaker opens after consecutive failures and half-opens after the cooldown', async () => {
    const changes: string[] = []
    const b = createCircuit(2, 50, (state) => changes.push(state))
    const fail = () => b.execute(() => Promise.reject(new Error('boom')))
    expect(await b.execute(() => 1)).toBe(1)
    await expect(fail()).rejects.toThrow('boom')
    expect(b.usable()).toBe(true) // one failure is not enough
    await expect(fail()).rejects.toThrow('boom')
    expect(b.policy.state).toBe(CircuitState.Open)
    expect(b.usable()).toBe(false)
    // Open: fails fast, the call is never made.
    let ran = false
    await expect(
      b.execute(() => {
        ran = true
      }),
    ).rejects.toBeInstanceOf(BrokenCircuitError)
    expect(ran).toBe(false)
    await Bun.sleep(60)
    expect(b.usable()).toBe(true)
    // One probe: while it runs, every other call still fails fast (it does not wait for the probe).
    const probeDone = Promise.withResolvers<string>()
    const probe = b.execute(() => probeDone.promise)
    expect(b.policy.state).toBe(CircuitState.HalfOpen)
    await expect(b.execute(() => 'second')).rejects.toBeInstanceOf(BrokenCircuitError)
    probeDone.resolve('ok')
    expect(await probe).toBe('ok')
    expect(b.policy.state).toBe(CircuitState.Closed)
    expect(await b.execute(() => 2)).toBe(2)
    expect(changes).toEqual(['open', 'closed'])
  })

  test('a failed half-open probe opens the circuit again, said once', async () => {
    const changes: string[] = []
    const b = createCircuit(1, 30, (state) => changes.push(state))
    await expect(b.execute(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    await Bun.sleep(40)
    await expect(b.execute(() => Promise.reject(new Error('still')))).rejects.toThrow('still')
    expect(b.policy.state).toBe(CircuitState.Open)
    expect(b.usable()).toBe(false)
    expect(changes).toEqual(['open'])
  })
})

describe('Eden Treaty client', () => {
  test('typed calls against the app', async () => {
    const client = treaty(app)
    const health = await client.health.get()
    expect(health.status).toBe(200)
    expect(health.data?.status).toBe('ok')
    const ready = await client.ready.get()
    expect(ready.data?.checks.postgres).toBe('ok')
  })
})
