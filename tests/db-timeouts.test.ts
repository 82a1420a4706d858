// Postgres in trouble: every wait is bounded. In-process against the real pool (acquire timeout,
// lock_timeout, request deadline, transactions that never run late), then a real API process with
// DATABASE_POOL_MAX=2 whose pool is exhausted by a lock held from another connection.
import { describe, expect, test } from 'bun:test'
import { sql as dsql } from 'drizzle-orm'
import postgres from 'postgres'
import { config } from '../src/config'
import { requestContext } from '../src/infra/context'
import { db, sql } from '../src/infra/db'
import { DatabaseBusyError } from '../src/infra/db-timeouts'
import { createUser, startApi } from './helpers'
import { order, productWithStock } from './orders-fixtures'

const url = process.env.DATABASE_URL as string

/** The error a promise rejects with, and how long it took to settle. */
async function outcome(p: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const t0 = performance.now()
  const error = await p.then(
    () => null,
    (e) => e,
  )
  return { error, ms: performance.now() - t0 }
}

const reasonOf = (e: unknown) =>
  e instanceof DatabaseBusyError ? e.reason : ((e as { cause?: unknown })?.cause as DatabaseBusyError)?.reason

describe('bounded waits on the pool (in process)', () => {
  test('with every pooled connection busy, a query and a transaction give up after DATABASE_ACQUIRE_TIMEOUT_MS; the late transaction never runs', async () => {
    const release = Promise.withResolvers<void>()
    // Transactions reserve their connection, so these hold the whole pool without pipelining.
    const holders = Array.from({ length: config.DATABASE_POOL_MAX }, () =>
      sql.begin(async (tx) => {
        await tx`select 1`
        await release.promise
      }),
    )
    await Bun.sleep(200)
    let ranLate = false
    try {
      const [q, t] = await Promise.all([
        outcome(db.execute(dsql`select 1`)),
        outcome(
          db.transaction(async (tx) => {
            ranLate = true
            await tx.execute(dsql`select 1`)
          }),
        ),
      ])
      for (const o of [q, t]) {
        expect(reasonOf(o.error)).toBe('pool')
        expect(o.ms).toBeGreaterThan(config.DATABASE_ACQUIRE_TIMEOUT_MS - 50)
        expect(o.ms).toBeLessThan(config.DATABASE_ACQUIRE_TIMEOUT_MS + 1500)
      }
    } finally {
      release.resolve()
      await Promise.all(holders)
    }
    await Bun.sleep(100)
    expect(ranLate).toBe(false)
    expect((await sql<{ n: number }[]>`select 1 as n`)[0]?.n).toBe(1) // the pool recovered
  })

  test('a row lock held elsewhere fails the statement after DATABASE_LOCK_TIMEOUT_MS', async () => {
    const other = postgres(url, { max: 1, onnotice: () => {} })
    const locked = Promise.withResolvers<void>()
    const release = Promise.withResolvers<void>()
    await other`create table if not exists lock_probe (id int primary key)`
    await other`insert into lock_probe values (1) on conflict do nothing`
    const holder = other.begin(async (tx) => {
      await tx`select * from lock_probe where id = 1 for update`
      locked.resolve()
      await release.promise
    })
    await locked.promise
    try {
      const o = await outcome(sql`update lock_probe set id = 1 where id = 1`)
      expect(reasonOf(o.error)).toBe('lock_timeout')
      expect(o.ms).toBeLessThan(config.DATABASE_LOCK_TIMEOUT_MS + 1500)
    } finally {
      release.resolve()
      await holder
      await other`drop table lock_probe`
      await other.end()
    }
  })

  test("a request's deadline cancels its running statement and refuses new ones", async () => {
    const deadline = performance.now() + 300
    const o = await requestContext.run({ requestId: 'deadline-test', deadline }, () => outcome(sql`select pg_sleep(3)`))
    expect(reasonOf(o.error)).toBe('deadline')
    expect(o.ms).toBeLessThan(1500)
    const late = await requestContext.run({ requestId: 'deadline-test', deadline }, () => outcome(db.execute(dsql`select 1`)))
    expect(reasonOf(late.error)).toBe('deadline')
    // Outside a request there is no deadline.
    expect((await sql<{ n: number }[]>`select 1 as n`)[0]?.n).toBe(1)
  })

  test('an order whose stock row is locked elsewhere answers 503 database_busy after the lock timeout, never 500', async () => {
    const productId = await productWithStock(10)
    const buyer = await createUser()
    const holder = postgres(url, { max: 1, onnotice: () => {} })
    const locked = Promise.withResolvers<void>()
    const release = Promise.withResolvers<void>()
    const held = holder.begin(async (tx) => {
      await tx`select 1 from inventory where product_id = ${productId} for update`
      locked.resolve()
      await release.promise
    })
    await locked.promise
    try {
      const t0 = performance.now()
      const r = await order(buyer.token, [{ productId, quantity: 1 }])
      expect(r.status).toBe(503)
      expect(r.body.code).toBe('database_busy')
      expect(r.headers.get('retry-after')).toBe('1')
      expect(performance.now() - t0).toBeLessThan(config.REQUEST_TIMEOUT_MS + 1500)
    } finally {
      release.resolve()
      await held
      await holder.end()
    }
    // Nothing half-done: the unit is still for sale.
    expect((await order(buyer.token, [{ productId, quantity: 1 }])).status).toBe(201)
  })
})

describe('an API process whose pool is exhausted (DATABASE_POOL_MAX=2, tables locked elsewhere)', () => {
  test('answers 503 problem+json with Retry-After within the deadline; /health and /metrics answer; /ready says saturated', async () => {
    const api = await startApi({
      DATABASE_POOL_MAX: '2',
      DATABASE_ACQUIRE_TIMEOUT_MS: '1000',
      DATABASE_LOCK_TIMEOUT_MS: '1000',
      DATABASE_STATEMENT_TIMEOUT_MS: '3000',
      REQUEST_TIMEOUT_MS: '2000',
      RATE_LIMIT_ENABLED: 'false',
    })
    const other = postgres(url, { max: 1, onnotice: () => {} })
    const locked = Promise.withResolvers<void>()
    const release = Promise.withResolvers<void>()
    let holder: Promise<unknown> = Promise.resolve()
    const timed = async (path: string, init: RequestInit = {}) => {
      const t0 = performance.now()
      // Without bounds (the old code) these wait as long as the lock is held: give up at 8 s.
      const r = await fetch(`${api.url}${path}`, { ...init, signal: AbortSignal.timeout(8000) }).catch((e) => e as Error)
      const ms = performance.now() - t0
      if (r instanceof Error) return { path, status: 0, ms, type: '', retryAfter: null, body: { error: r.name } as any }
      const type = r.headers.get('content-type') ?? ''
      const retryAfter = r.headers.get('retry-after')
      const body = type.includes('json') ? await r.json() : { text: await r.text() }
      return { path, status: r.status, ms, type, retryAfter, body }
    }
    const login = (i: number) =>
      timed('/api/v1/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `stuck${i}@test.local`, password: 'Wrong-password-1' }),
      })
    const search = (i: number) => timed(`/api/v1/products?q=stuck${i}x${Date.now()}`)
    try {
      holder = other.begin(async (tx) => {
        await tx`lock table users, products in access exclusive mode`
        locked.resolve()
        await release.promise
      })
      await locked.promise
      // A crowd arriving over 3 s keeps both pooled connections stuck on the lock.
      const crowd: Promise<Awaited<ReturnType<typeof timed>>>[] = []
      const probes: Awaited<ReturnType<typeof timed>>[] = []
      for (let i = 0; i < 30; i++) {
        crowd.push(i % 2 ? login(i) : search(i))
        await Bun.sleep(100)
        if (i >= 5 && i % 5 === 0) probes.push(...(await Promise.all([timed('/health'), timed('/metrics'), timed('/ready')])))
      }
      const answers = await Promise.all(crowd)
      for (const a of answers) {
        expect(a).toMatchObject({ status: 503, retryAfter: '1', body: { code: 'database_busy', status: 503 } })
        expect(a.type).toStartWith('application/problem+json')
        // REQUEST_TIMEOUT_MS, plus one lock_timeout for a statement started just before it, plus slack.
        expect(a.ms).toBeLessThan(2000 + 1000 + 1000)
      }
      for (const p of probes.filter((p) => p.path !== '/ready')) {
        expect(p.status).toBe(200)
        expect(p.ms).toBeLessThan(1500)
      }
      const metrics = probes.filter((p) => p.path === '/metrics').at(-1)?.body.text as string
      expect(metrics).toContain('db_pool_connections{state="max"} 2')
      expect(metrics).toMatch(/db_busy_total\{reason="(pool|deadline|lock_timeout)"\} [1-9]/)
      const ready = probes.filter((p) => p.path === '/ready')
      // Postgres answers all along: never "down"; saturated whenever the pool had no free connection.
      expect(ready.map((r) => r.body.checks?.postgres)).not.toContain('down')
      expect(ready.filter((r) => r.status === 503).map((r) => r.body)).toContainEqual(
        expect.objectContaining({ status: 'saturated', checks: expect.objectContaining({ postgres: 'saturated' }) }),
      )
      release.resolve()
      await holder
      // The lock is gone: the same requests are answered normally again.
      expect((await login(99)).status).toBe(401)
      expect((await timed('/ready')).status).toBe(200)
    } finally {
      release.resolve()
      await holder.catch(() => {})
      await other.end()
      await api.stop()
    }
  }, 60000)
})
