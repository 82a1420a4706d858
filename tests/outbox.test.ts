// Transactional outbox: an order committed while Redis is down keeps its event in Postgres; when
// Redis comes back the relay publishes it and the confirmation email goes out exactly once, even
// when the event is published a second time.
import { afterAll, describe, expect, test } from 'bun:test'
import { and, eq, isNull } from 'drizzle-orm'
import { mailLog, outboxEvents } from '../db/schema'
import { config } from '../src/config'
import { db } from '../src/infra/db'
import { type ApiProcess, createUser, startApi } from './helpers'
import { productWithStock, type RedisServer, spawnRedis, startWorkerProcess, type WorkerProcess, waitFor } from './jobs-helpers'

let redis: RedisServer | null = null
let api: ApiProcess | null = null
let worker: WorkerProcess | null = null
afterAll(async () => {
  await worker?.stop('SIGKILL')
  await api?.stop()
  await redis?.stop()
})

const eventOf = async (orderId: string) =>
  (
    await db
      .select()
      .from(outboxEvents)
      .where(and(eq(outboxEvents.aggregateId, orderId), eq(outboxEvents.type, 'order.created')))
  )[0]
const mailsOf = (orderId: string) => db.select().from(mailLog).where(eq(mailLog.orderId, orderId))

describe('outbox relay', () => {
  test('Redis down at checkout → event waits in Postgres → Redis back → exactly one email', async () => {
    // Events other test files left unpublished are not this test's: its worker would relay them
    // first (hundreds, once, when the inventory fixtures still emitted order.created for orders
    // that never existed, whose email jobs failed), and this test's event would wait behind them.
    await db.update(outboxEvents).set({ publishedAt: new Date() }).where(isNull(outboxEvents.publishedAt))
    redis = await spawnRedis()
    // API and worker share this private Redis (broker, gate, cache); the test kills it.
    const env = { REDIS_URL: redis.url, REDIS_PREFIX: `${config.REDIS_PREFIX}:outage`, OUTBOX_POLL_MS: '200', DATABASE_POOL_MAX: '3' }
    api = await startApi(env)
    worker = await startWorkerProcess({ ...env, JOBS_QUEUES: 'order-emails', SHUTDOWN_TIMEOUT_MS: '2000' })
    const buyer = await createUser('customer')
    const productId = await productWithStock(20, 2, 'Outage Widget')

    await redis.stop()
    const res = await fetch(`${api.url}/api/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${buyer.token}`, 'content-type': 'application/json', 'idempotency-key': `outage-${Date.now()}` },
      body: JSON.stringify({ items: [{ productId, quantity: 2 }] }),
    })
    expect(res.status).toBe(201) // Redis is an accelerator: checkout works without it
    const order = (await res.json()) as { id: string; totalCents: number }

    // The relay keeps failing while Redis is down: the event stays unpublished, no email yet.
    await Bun.sleep(1500)
    const waiting = await eventOf(order.id)
    expect(waiting).toBeDefined()
    expect(waiting!.publishedAt).toBeNull()
    expect(await mailsOf(order.id)).toHaveLength(0)

    await redis.start()
    const [mail] = await waitFor(
      'the confirmation email',
      async () => {
        const rows = await mailsOf(order.id)
        return rows.length ? rows : null
      },
      30_000,
    ).catch(async (err) => {
      // Say where it stopped: the relay (event still unpublished) or the email job (worker log).
      const e = await eventOf(order.id)
      const left = await db.$count(outboxEvents, isNull(outboxEvents.publishedAt))
      throw new Error(
        `${err.message}; event published: ${e?.publishedAt ?? 'no'}; unpublished events: ${left}; worker exit code: ${worker?.proc.exitCode}; worker log tail:\n${worker?.output().slice(-4000)}`,
      )
    })
    expect(mail!.kind).toBe('order_confirmation')
    expect(mail!.status).toBe('logged')
    expect(mail!.toAddress).toBe(buyer.email)
    expect(mail!.textBody).toContain(order.id)
    expect(mail!.textBody).toContain('2 × Outage Widget')
    expect(mail!.textBody).toContain('$25.00')
    expect((await eventOf(order.id))!.publishedAt).not.toBeNull()

    // Publish the same event again (as after a crash between add and commit): BullMQ ignores the
    // duplicate jobId and mail_log's unique key holds; still one email.
    await db.update(outboxEvents).set({ publishedAt: null }).where(eq(outboxEvents.id, waiting!.id))
    await waitFor('the re-publish', async () => (await eventOf(order.id))!.publishedAt !== null, 10_000)
    await Bun.sleep(500)
    expect(await mailsOf(order.id)).toHaveLength(1)
    expect(worker.proc.exitCode).toBeNull()
  }, 90_000)
})
