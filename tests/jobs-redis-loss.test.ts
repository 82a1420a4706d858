// Redis loses its data (restart without persistence, failover to a lagging replica): jobs that were
// published from the outbox or enqueued by /pay vanish with it. A real API and real worker
// processes run on a private redis-server that is SIGKILLed and restarted EMPTY (or from an older
// snapshot) while confirmation emails and charges sit in Redis; the workers notice, rebuild what
// is owed from Postgres, and every email and every charge happens exactly once (counted at the
// SMTP server and in the gateway's ledger). Also: an outage logs a bounded number of lines.
import { afterAll, afterEach, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { and, eq, inArray, isNull } from 'drizzle-orm'
import Redis from 'ioredis'
import { gatewayCharges, mailLog, outboxEvents, payments } from '../db/schema'
import { config } from '../src/config'
import { db } from '../src/infra/db'
import { type ApiProcess, createUser, startApi } from './helpers'
import { fakeSmtp, productWithStock, type RedisServer, spawnRedis, startWorkerProcess, type WorkerProcess, waitFor } from './jobs-helpers'

const smtp = fakeSmtp()
// Each test stops its processes: a relay left running would publish the next test's events to
// its own (old) Redis.
const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await Promise.resolve(f()).catch(() => {})
})
afterAll(() => smtp.stop())

const confirmationsAt = (orderId: string) =>
  smtp.accepted.filter((m) => m.replace(/\r\n\s+/g, ' ').includes(`<order_confirmation.${orderId}@stampede.local>`)).length

async function post(api: ApiProcess, path: string, token: string, body: unknown) {
  const res = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': Bun.randomUUIDv7() },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as { id: string; code?: string } }
}

/**
 * An API and `workers` worker processes on `redis`; `orders` orders each with a started payment,
 * whose confirmation email and charge jobs wait in Redis (their queues paused) — then `lose()`.
 */
async function queuedWorkThen(
  redis: RedisServer,
  opts: { orders: number; workers: number; prefix: string; beforeWork?: (r: Redis) => Promise<unknown> },
) {
  const env = {
    REDIS_URL: redis.url,
    REDIS_PREFIX: opts.prefix,
    SMTP_URL: smtp.url,
    OUTBOX_POLL_MS: '200',
    DATABASE_POOL_MAX: '3',
    PAYMENT_GATEWAY_LATENCY_MS: '0',
    REDIS_EPOCH_CHECK_MS: '1000',
  }
  const api = await startApi(env)
  cleanup.push(() => api.stop())
  const workers: WorkerProcess[] = []
  for (let i = 0; i < opts.workers; i++) {
    const w = await startWorkerProcess(env)
    cleanup.push(() => w.stop('SIGKILL'))
    workers.push(w)
  }
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null })
  connection.on('error', () => {}) // the test kills this server
  const prefix = opts.prefix
  const queues = { emails: new Queue('order-emails', { connection, prefix }), pay: new Queue('payments', { connection, prefix }) }
  for (const q of Object.values(queues)) q.on('error', () => {})
  cleanup.push(async () => {
    await Promise.allSettled([queues.emails.close(), queues.pay.close()])
    connection.disconnect()
  })
  const maintenance = new Queue('maintenance', { connection, prefix })
  await waitFor('the workers to register their schedules', async () => (await maintenance.getJobSchedulersCount()) > 0)
  await maintenance.close()
  // and (code with the recovery) to write their epoch key; code without one has none to wait for
  await waitFor('the epoch key', async () => (await connection.get(`${prefix}:epoch`)) !== null, 3000).catch(() => {})
  await opts.beforeWork?.(connection)

  // Hold the work in Redis: with these queues paused the relay publishes and /pay enqueues, but no
  // job runs until Redis has lost them.
  await queues.emails.pause()
  await queues.pay.pause()
  const productId = await productWithStock(100, 0, 'Lossy Lamp')
  const orderIds: string[] = []
  for (let i = 0; i < opts.orders; i++) {
    const buyer = await createUser('customer')
    const o = await post(api, '/api/v1/orders', buyer.token, { items: [{ productId, quantity: 1 }] })
    expect(o.status).toBe(201)
    const p = await post(api, `/api/v1/orders/${o.body.id}/pay`, buyer.token, { paymentMethod: 'pm_card_ok' })
    expect(p.status).toBe(202)
    orderIds.push(o.body.id)
  }
  const created = and(inArray(outboxEvents.aggregateId, orderIds), eq(outboxEvents.type, 'order.created'))
  await waitFor('the order.created events to be published and every job to wait in Redis', async () => {
    const [emailJobs, payJobs] = await Promise.all([queues.emails.getJobCountByTypes('wait'), queues.pay.getJobCountByTypes('wait')])
    return (
      (await db.$count(outboxEvents, and(created, isNull(outboxEvents.publishedAt)))) === 0 &&
      emailJobs >= opts.orders &&
      payJobs >= opts.orders
    )
  })
  expect(await db.$count(mailLog, inArray(mailLog.orderId, orderIds))).toBe(0)
  const before = await db.select().from(payments).where(inArray(payments.orderId, orderIds))
  expect(before.map((p) => `${p.status}/${p.attempts}`)).toEqual(Array(opts.orders).fill('pending/0'))

  const paid = async () =>
    (await db.select().from(payments).where(inArray(payments.orderId, orderIds))).filter((p) => p.status === 'succeeded').length
  const sentConfirmations = () =>
    db.$count(mailLog, and(inArray(mailLog.orderId, orderIds), eq(mailLog.kind, 'order_confirmation'), eq(mailLog.status, 'sent')))
  const n = opts.orders
  return {
    workers,
    connection,
    /** Waits until every email was sent and every payment settled. */
    delivered: () =>
      waitFor(
        'every confirmation sent and every payment settled',
        async () => (await sentConfirmations()) === n && (await paid()) === n,
        45_000,
        250,
      ).catch(async (err) => {
        throw new Error(
          `${err.message}; confirmations sent: ${await sentConfirmations()}/${n}; payments succeeded: ${await paid()}/${n}; worker log tail:\n${workers[0]?.output().slice(-3000)}`,
        )
      }),
    /** One confirmation per order at the SMTP server, one charge per order at the gateway. */
    exactlyOnce: async () => {
      expect(orderIds.map(confirmationsAt)).toEqual(Array(n).fill(1))
      const rows = await db.select().from(payments).where(inArray(payments.orderId, orderIds))
      expect(rows.map((p) => `${p.status}/${p.attempts}`)).toEqual(Array(n).fill('succeeded/1'))
      const keys = rows.map((p) => p.idempotencyKey) // the gateway key of each payment attempt
      const charges = await db.select().from(gatewayCharges).where(inArray(gatewayCharges.idempotencyKey, keys))
      expect(charges.map((c) => `${c.status}/${c.calls}`)).toEqual(Array(n).fill('succeeded/1'))
    },
  }
}

const recoveries = (w: WorkerProcess) => w.output().split('"msg":"owed work recovered').length - 1

describe('Redis loses its data', () => {
  test('restarted empty: queued emails and charges are recovered from Postgres, each happens exactly once', async () => {
    const redis = await spawnRedis()
    cleanup.push(() => redis.stop())
    const run = await queuedWorkThen(redis, { orders: 10, workers: 2, prefix: `${config.REDIS_PREFIX}:loss` })

    // The data loss: kill -9, start again with nothing (no RDB, no AOF).
    await redis.stop()
    await redis.start()
    await run.delivered()
    await run.exactlyOnce()
    expect(run.workers.some((w) => w.output().includes('redis lost its data'))).toBe(true)
    // The schedules came back too (they lived in Redis).
    const maintenance = new Queue('maintenance', { connection: run.connection, prefix: `${config.REDIS_PREFIX}:loss` })
    await waitFor('the schedulers to be re-registered', async () => (await maintenance.getJobSchedulersCount()) > 0)
    await maintenance.close()

    // Lose it all once more after everything was delivered: the recovery finds nothing owed.
    const seen = run.workers.map(recoveries)
    await redis.stop()
    await redis.start()
    await waitFor('both workers to recover again', async () => run.workers.every((w, i) => recoveries(w) > seen[i]!), 20_000)
    await Bun.sleep(1000)
    await run.exactlyOnce()
    for (const w of run.workers) expect(w.proc.exitCode).toBeNull()
  }, 120_000)

  test('restarted from an older snapshot (as a lagging replica): the new server is noticed, the lost jobs recovered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stampede-redis-'))
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
    const redis = await spawnRedis(['--dir', dir])
    cleanup.push(() => redis.stop())
    // The snapshot holds the epoch key and the schedulers, but none of the jobs queued after it.
    const run = await queuedWorkThen(redis, { orders: 5, workers: 1, prefix: `${config.REDIS_PREFIX}:stale`, beforeWork: (r) => r.save() })
    await redis.stop()
    await redis.start()
    await run.delivered()
    await run.exactlyOnce()
    expect(run.workers[0]!.output()).toContain('another Redis server')
  }, 120_000)
})

describe('Redis outage logging', () => {
  test('an outage of a few seconds logs a handful of lines, not one per reconnect attempt', async () => {
    const redis = await spawnRedis()
    cleanup.push(() => redis.stop())
    const worker = await startWorkerProcess({ REDIS_URL: redis.url, REDIS_PREFIX: `${config.REDIS_PREFIX}:noisy` })
    cleanup.push(() => worker.stop('SIGKILL'))
    await Bun.sleep(1000)
    const from = worker.output().length
    await redis.stop()
    await Bun.sleep(6000)
    await redis.start()
    await waitFor('the worker to say Redis is back', async () => worker.output().slice(from).includes('connection restored'), 20_000)
    await Bun.sleep(3000) // stragglers: BullMQ's blocking clients reconnect on their own clock
    const lines = worker
      .output()
      .slice(from)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; err?: string; errors?: number })
    const outage = lines.filter((l) => /ECONN|redis|connection|disconnected/i.test(`${l.msg} ${l.err ?? ''}`))
    const warnings = outage.filter((l) => l.level >= 40 && !l.msg.startsWith('redis lost its data'))
    // One line when the outage began (summaries come every 30 s), one when it ended; the cache
    // invalidation bus says once that it lost its subscriber.
    const said = outage.map((l) => `${l.level} ${l.msg} ${l.err ?? ''}`)
    expect({ said, unavailable: warnings.filter((l) => l.msg.startsWith('redis unavailable')).length }).toMatchObject({ unavailable: 1 })
    expect({ said, warnings: warnings.length <= 2 }).toMatchObject({ warnings: true })
    // (the first error may be the reset of the open connection rather than a refused reconnect)
    expect({ said, refused: outage.filter((l) => `${l.err}`.includes('ECONNREFUSED')).length <= 1 }).toMatchObject({ refused: true })
    const restored = lines.filter((l) => l.msg === 'redis connection restored')
    expect(restored).toHaveLength(1)
    expect(restored[0]!.errors).toBeGreaterThan(10) // the errors happened; they were counted, not logged
    expect(worker.proc.exitCode).toBeNull()
  }, 60_000)
})
