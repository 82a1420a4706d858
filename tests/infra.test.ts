// Infrastructure behaviour: slow-query logging, the Redis breaker, and the typed Eden client.
import { describe, expect, test } from 'bun:test'
import { treaty } from '@elysiajs/eden'
import { sql as dsql } from 'drizzle-orm'
import { app } from '../src/app'
import { db } from '../src/infra/db'
import { registry } from '../src/infra/metrics'
import { withRedis } from '../src/infra/redis'
import { CircuitBreaker } from '../src/lib/circuit-breaker'

const metric = async (name: string) => {
  const m = (await registry.getMetricsAsJSON()).find((x) => x.name === name)
  return m?.values.reduce((a, v) => a + v.value, 0) ?? 0
}

describe('database', () => {
  test('statements slower than SLOW_QUERY_MS are counted and logged; fast ones are not', async () => {
    const before = await metric('db_slow_queries_total')
    await db.execute(dsql`select 1`)
    expect(await metric('db_slow_queries_total')).toBe(before)
    await db.execute(dsql`select pg_sleep(0.15)`)
    expect(await metric('db_slow_queries_total')).toBe(before + 1)
  })

  test('slow statements inside transactions are seen too', async () => {
    const before = await metric('db_slow_queries_total')
    await db.transaction(async (tx) => {
      await tx.execute(dsql`select pg_sleep(0.12)`)
    })
    expect(await metric('db_slow_queries_total')).toBe(before + 1)
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
    const b = new CircuitBreaker('t', 2, 50)
    expect(b.allow()).toBe(true)
    b.failure()
    b.failure()
    expect(b.state).toBe('open')
    expect(b.allow()).toBe(false)
    await Bun.sleep(60)
    expect(b.allow()).toBe(true) // one probe
    expect(b.allow()).toBe(false) // only one
    b.success()
    expect(b.state).toBe('closed')
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
