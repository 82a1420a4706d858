// The recovery sweep (jobs/recovery.ts) in-process: which owed work Postgres says has lost its job,
// what it re-adds (deterministic job ids, a charge with only the tries its payment has left), and
// that re-running it adds nothing. Its jobs go to a private prefix so no other test's worker runs
// them; the end-to-end proof with real kills is jobs-redis-loss.test.ts.
import { afterAll, describe, expect, test } from 'bun:test'
import { Queue } from 'bullmq'
import { and, eq } from 'drizzle-orm'
import Redis from 'ioredis'
import { outboxEvents, payments } from '../db/schema'
import { type QueueOf, recoverOwedWork, uuidV7Floor } from '../jobs/recovery'
import { config } from '../src/config'
import { db } from '../src/infra/db'
import { queue } from '../src/infra/queues'
import { deleteByPrefix } from '../src/infra/redis'
import { sendOrderEmail } from '../src/modules/mail/service'
import { createUser, req } from './helpers'
import { newKey, order, pay, productWithStock } from './orders-fixtures'

const prefix = `${config.REDIS_PREFIX}:recovery`
const connection = new Redis(config.REDIS_URL as string, { maxRetriesPerRequest: null })
const queues = new Map<string, Queue>()
const queueOf: QueueOf = (name) => {
  let q = queues.get(name)
  if (!q) {
    q = new Queue(name, { connection, prefix })
    queues.set(name, q)
  }
  return q
}
afterAll(async () => {
  await Promise.all([...queues.values()].map((q) => q.close()))
  await deleteByPrefix(connection, prefix)
  connection.disconnect()
})

const eventOf = async (orderId: string) => (await db.select().from(outboxEvents).where(eq(outboxEvents.aggregateId, orderId)))[0]!
const publishedAgo = (eventId: string, seconds: number) =>
  db.execute(`update outbox_events set published_at = now() - interval '${seconds} seconds' where id = '${eventId}'`)

describe('recovery of owed work', () => {
  test('re-adds undelivered emails and pending charges older than the grace, once, with the tries left', async () => {
    const buyer = await createUser('customer')
    const productId = await productWithStock(20)
    const place = async () => (await order(buyer.token, [{ productId, quantity: 1 }], newKey())).body.id as string
    const [lost, delivered, young, paying] = [await place(), await place(), await place(), await place()]
    // lost: published 2 min ago, its job gone. delivered: its email is in mail_log. young: published
    // 5 s ago (its job is surely still running). paying: a charge whose job Redis lost after 3 tries.
    const [eLost, eDelivered, eYoung] = [await eventOf(lost), await eventOf(delivered), await eventOf(young)]
    await publishedAgo(eLost.id, 120)
    await publishedAgo(eDelivered.id, 120)
    await publishedAgo(eYoung.id, 5)
    await sendOrderEmail({ orderId: delivered, kind: 'order_confirmation', payload: eDelivered.payload, eventId: eDelivered.id })
    expect((await pay(buyer.token, paying, 'pm_card_ok')).status).toBe(202)
    const [p] = await db.select().from(payments).where(eq(payments.orderId, paying))
    expect(await queue('payments').remove(`pay-${p!.id}`)).toBe(1) // the shared prefix's job: "lost"
    await db.execute(`update payments set attempts = 3, created_at = now() - interval '2 minutes' where id = '${p!.id}'`)

    const first = await recoverOwedWork(queueOf, 60_000)
    expect(first.emails).toBeGreaterThanOrEqual(1)
    expect(first.payments).toBeGreaterThanOrEqual(1)
    const email = await queueOf('order-emails').getJob(eLost.id)
    expect(email?.name).toBe('send-confirmation')
    expect(email?.data).toMatchObject({ eventId: eLost.id, orderId: lost, kind: 'order_confirmation' })
    expect(await queueOf('order-emails').getJob(eDelivered.id)).toBeUndefined()
    expect(await queueOf('order-emails').getJob(eYoung.id)).toBeUndefined()
    const charge = await queueOf('payments').getJob(`pay-${p!.id}`)
    expect(charge?.data).toMatchObject({ orderId: paying, attemptId: p!.id, idempotencyKey: `pay_${p!.id}` })
    expect(charge?.opts.attempts).toBe(config.PAYMENT_MAX_ATTEMPTS - 3)

    // Again: the same job ids, so nothing new.
    const counts = async () => [
      await queueOf('order-emails').getJobCountByTypes('wait'),
      await queueOf('payments').getJobCountByTypes('wait'),
    ]
    const before = await counts()
    await recoverOwedWork(queueOf, 60_000)
    expect(await counts()).toEqual(before)
    // With no grace (Redis known to have lost its data), the young event is owed too.
    await recoverOwedWork(queueOf, 0)
    expect(await queueOf('order-emails').getJob(eYoung.id)).toBeDefined()
  })

  test('covers every kind of order email: a lost cancellation email is re-added as send-cancellation', async () => {
    const buyer = await createUser('customer')
    const productId = await productWithStock(5)
    const id = (await order(buyer.token, [{ productId, quantity: 1 }], newKey())).body.id as string
    expect((await req('POST', `/api/v1/orders/${id}/cancel`, { token: buyer.token })).body.status).toBe('cancelled')
    const [cancelled] = await db
      .select()
      .from(outboxEvents)
      .where(and(eq(outboxEvents.aggregateId, id), eq(outboxEvents.type, 'order.cancelled')))
    await publishedAgo(cancelled!.id, 120)
    await recoverOwedWork(queueOf, 60_000)
    const job = await queueOf('order-emails').getJob(cancelled!.id)
    expect(job?.name).toBe('send-cancellation')
    expect(job?.data).toMatchObject({ orderId: id, kind: 'order_cancelled' })
  })

  test('uuidV7Floor orders with the ids of its millisecond', () => {
    const now = Date.now()
    const id = Bun.randomUUIDv7('hex', now)
    expect(uuidV7Floor(now) < id).toBe(true)
    expect(uuidV7Floor(now + 1) > id).toBe(true)
  })
})
