// Redis loses its data (restart without persistence, failover to a lagging replica): jobs that were
// published from the outbox or enqueued by /pay vanish with it. A real API and a real worker run
// on a private redis-server that is SIGKILLed and restarted EMPTY while confirmation emails and
// charges sit in Redis; the worker notices, rebuilds what is owed from Postgres, and every email
// and every charge happens exactly once (counted at the SMTP server and the gateway's ledger).
// Also: an outage logs a bounded number of lines, not one per reconnect attempt of every client.
import { afterAll, describe, expect, test } from 'bun:test'
import { Queue } from 'bullmq'
import { and, eq, inArray, isNull } from 'drizzle-orm'
import Redis from 'ioredis'
import { gatewayCharges, mailLog, outboxEvents, payments } from '../db/schema'
import { config } from '../src/config'
import { db } from '../src/infra/db'
import { type ApiProcess, createUser, startApi } from './helpers'
import { fakeSmtp, productWithStock, type RedisServer, spawnRedis, startWorkerProcess, type WorkerProcess, waitFor } from './jobs-helpers'

const ORDERS = 10
const smtp = fakeSmtp()
const cleanup: (() => Promise<unknown>)[] = []
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => {})
  smtp.stop()
})

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

describe('Redis restarted empty', () => {
  test('queued emails and charges lost with Redis are recovered from Postgres: each happens exactly once', async () => {
    const redis: RedisServer = await spawnRedis()
    cleanup.push(() => redis.stop())
    const prefix = `${config.REDIS_PREFIX}:loss`
    const env = {
      REDIS_URL: redis.url,
      REDIS_PREFIX: prefix,
      SMTP_URL: smtp.url,
      OUTBOX_POLL_MS: '200',
      DATABASE_POOL_MAX: '3',
      PAYMENT_GATEWAY_LATENCY_MS: '0',
      REDIS_EPOCH_CHECK_MS: '1000',
    }
    const api = await startApi(env)
    cleanup.push(() => api.stop())
    const worker: WorkerProcess = await startWorkerProcess(env)
    cleanup.push(() => worker.stop('SIGKILL'))

    // Hold the work in Redis: with these queues paused, the relay publishes and /pay enqueues, but
    // no job runs until Redis has lost them (the pause itself is lost with the data).
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null })
    const queues = { emails: new Queue('order-emails', { connection, prefix }), pay: new Queue('payments', { connection, prefix }) }
    cleanup.push(async () => {
      await Promise.allSettled([queues.emails.close(), queues.pay.close()])
      connection.disconnect()
    })
    await queues.emails.pause()
    await queues.pay.pause()

    const productId = await productWithStock(100, 0, 'Lossy Lamp')
    const orderIds: string[] = []
    for (let i = 0; i < ORDERS; i++) {
      const buyer = await createUser('customer')
      const o = await post(api, '/api/v1/orders', buyer.token, { items: [{ productId, quantity: 1 }] })
      expect(o.status).toBe(201)
      const p = await post(api, `/api/v1/orders/${o.body.id}/pay`, buyer.token, { paymentMethod: 'pm_card_ok' })
      expect(p.status).toBe(202)
      orderIds.push(o.body.id)
    }
    const published = () =>
      db
        .select({ n: outboxEvents.id })
        .from(outboxEvents)
        .where(and(inArray(outboxEvents.aggregateId, orderIds), eq(outboxEvents.type, 'order.created')))
        .then((rows) => rows.length)
    await waitFor('the order.created events to be published and their jobs to wait in Redis', async () => {
      const [emailJobs, payJobs] = await Promise.all([queues.emails.getJobCountByTypes('wait'), queues.pay.getJobCountByTypes('wait')])
      return (await published()) === ORDERS && emailJobs >= ORDERS && payJobs >= ORDERS
    })
    const unpublished = await db.$count(
      outboxEvents,
      and(inArray(outboxEvents.aggregateId, orderIds), eq(outboxEvents.type, 'order.created'), isNull(outboxEvents.publishedAt)),
    )
    expect(unpublished).toBe(0)
    expect(await db.$count(mailLog, inArray(mailLog.orderId, orderIds))).toBe(0)
    const before = await db.select().from(payments).where(inArray(payments.orderId, orderIds))
    expect(before.map((p) => `${p.status}/${p.attempts}`)).toEqual(Array(ORDERS).fill('pending/0'))

    // The data loss: kill -9, start again with nothing (no RDB, no AOF).
    await redis.stop()
    await redis.start()

    const paid = async () =>
      (await db.select().from(payments).where(inArray(payments.orderId, orderIds))).filter((p) => p.status === 'succeeded').length
    const sentConfirmations = () =>
      db.$count(mailLog, and(inArray(mailLog.orderId, orderIds), eq(mailLog.kind, 'order_confirmation'), eq(mailLog.status, 'sent')))
    await waitFor(
      'every confirmation sent and every payment settled',
      async () => (await sentConfirmations()) === ORDERS && (await paid()) === ORDERS,
      45_000,
      250,
    ).catch(async (err) => {
      throw new Error(
        `${err.message}; confirmations sent: ${await sentConfirmations()}/${ORDERS}; payments succeeded: ${await paid()}/${ORDERS}; worker log tail:\n${worker.output().slice(-3000)}`,
      )
    })
    expect(worker.output()).toContain('redis lost its data')

    // Exactly once: one confirmation per order at the SMTP server, one charge per order at the gateway.
    const exactlyOnce = async () => {
      expect(orderIds.map(confirmationsAt)).toEqual(Array(ORDERS).fill(1))
      const rows = await db.select().from(payments).where(inArray(payments.orderId, orderIds))
      expect(rows.map((p) => `${p.status}/${p.attempts}`)).toEqual(Array(ORDERS).fill('succeeded/1'))
      const charges = await db
        .select()
        .from(gatewayCharges)
        .where(
          inArray(
            gatewayCharges.idempotencyKey,
            orderIds.map((id) => `order_${id}`),
          ),
        )
      expect(charges.map((c) => `${c.status}/${c.calls}`)).toEqual(Array(ORDERS).fill('succeeded/1'))
    }
    await exactlyOnce()
    // The schedules came back with the data (they live in Redis too).
    await waitFor(
      'the schedulers to be re-registered',
      async () => (await new Queue('maintenance', { connection, prefix }).getJobSchedulersCount()) > 0,
    )

    // Lose it all once more after everything was delivered: the recovery finds nothing owed.
    const recoveries = () => worker.output().split('owed work recovered').length - 1
    const seen = recoveries()
    await redis.stop()
    await redis.start()
    await waitFor('the second recovery', async () => recoveries() > seen, 20_000)
    await Bun.sleep(1000)
    await exactlyOnce()
    expect(worker.proc.exitCode).toBeNull()
  }, 120_000)
})

describe('Redis outage logging', () => {
  test('an outage of a few seconds logs a handful of lines, not one per reconnect attempt', async () => {
    const redis = await spawnRedis()
    cleanup.push(() => redis.stop())
    const worker = await startWorkerProcess({
      REDIS_URL: redis.url,
      REDIS_PREFIX: `${config.REDIS_PREFIX}:noisy`,
      OUTBOX_RELAY_ENABLED: 'false',
    })
    cleanup.push(() => worker.stop('SIGKILL'))
    await Bun.sleep(500)
    const from = worker.output().length
    await redis.stop()
    await Bun.sleep(6000)
    await redis.start()
    await waitFor('the worker to say Redis is back', async () => worker.output().slice(from).includes('connection restored'), 20_000)
    await Bun.sleep(3000) // stragglers (BullMQ's blocking clients reconnect on their own clock)
    const lines = worker
      .output()
      .slice(from)
      .split('\n')
      .filter((l) => /ECONNREFUSED|redis|connection/i.test(l))
    // One line when the outage begins, one when it ends; summaries only every 30 s.
    expect(lines.length).toBeLessThanOrEqual(4)
    expect(lines.filter((l) => l.includes('ECONNREFUSED')).length).toBeLessThanOrEqual(2)
    expect(worker.proc.exitCode).toBeNull()
  }, 60_000)
})
