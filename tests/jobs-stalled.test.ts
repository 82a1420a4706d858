// Stalled-job recovery: a worker is SIGKILLed in the middle of sending an email over SMTP; after
// its lock lapses another worker process picks the job up and the email is delivered exactly once.
import { afterAll, describe, expect, test } from 'bun:test'
import { Queue } from 'bullmq'
import { eq } from 'drizzle-orm'
import Redis from 'ioredis'
import { mailLog } from '../db/schema'
import { config } from '../src/config'
import { db } from '../src/infra/db'
import type { OrderEmailJobData } from '../src/infra/queues'
import { createUser, freePort } from './helpers'
import { fakeSmtp, productWithStock, startWorkerProcess, type WorkerProcess, waitFor } from './jobs-helpers'

const prefix = `${config.REDIS_PREFIX}:stall`
const smtp = fakeSmtp()
const connection = new Redis(config.REDIS_URL as string, { maxRetriesPerRequest: null })
const emails = new Queue<OrderEmailJobData>('order-emails', { connection, prefix })
const workers: WorkerProcess[] = []
afterAll(async () => {
  for (const w of workers) if (w.proc.exitCode === null) await w.stop('SIGKILL')
  await emails.close()
  connection.disconnect()
  smtp.stop()
})

const env = {
  REDIS_PREFIX: prefix,
  SMTP_URL: smtp.url,
  JOBS_QUEUES: 'order-emails',
  OUTBOX_RELAY_ENABLED: 'false',
  JOBS_LOCK_DURATION_MS: '1500',
  JOBS_STALLED_INTERVAL_MS: '500',
  SHUTDOWN_TIMEOUT_MS: '3000',
}

describe('stalled jobs', () => {
  test('worker killed mid-send → another worker retries → one email, SIGTERM closes cleanly', async () => {
    const buyer = await createUser('customer')
    const productId = await productWithStock(10, 1, 'Stall Lamp')
    const orderId = Bun.randomUUIDv7()
    const payload = {
      orderId,
      userId: buyer.id,
      items: [{ productId, quantity: 3, unitPriceCents: 1250 }],
      totalCents: 3750,
      currency: 'USD',
    }

    smtp.setHang(true) // the first worker's SMTP transaction never completes
    const a = await startWorkerProcess(env)
    workers.push(a)
    const eventId = Bun.randomUUIDv7()
    await emails.add('send-confirmation', { eventId, orderId, kind: 'order_confirmation', payload }, { jobId: eventId, attempts: 5 })
    await waitFor('worker A to be mid-send', async () => {
      const [row] = await db.select().from(mailLog).where(eq(mailLog.orderId, orderId))
      return row?.status === 'sending' && smtp.dataCommands() >= 1
    })
    expect(await a.stop('SIGKILL')).not.toBe(0)
    expect(smtp.accepted.filter((m) => m.includes(orderId))).toHaveLength(0)

    smtp.setHang(false)
    const b = await startWorkerProcess(env)
    workers.push(b)
    const sent = await waitFor(
      'worker B to deliver',
      async () => {
        const [row] = await db.select().from(mailLog).where(eq(mailLog.orderId, orderId))
        return row?.status === 'sent' ? row : null
      },
      30_000,
    ).catch(async (err) => {
      const job = await emails.getJob(eventId)
      const rows = await db.select().from(mailLog).where(eq(mailLog.orderId, orderId))
      console.error('diagnostics', await job?.getState(), job?.failedReason, JSON.stringify(rows), b.output().slice(-3000))
      throw err
    })
    expect(sent.attempts).toBe(2) // A's claim, then B's takeover
    expect(sent.sentAt).toBeInstanceOf(Date)
    const delivered = smtp.accepted.filter((m) => m.includes(orderId))
    expect(delivered).toHaveLength(1)
    expect(delivered[0]!.replace(/\r\n\s+/g, ' ')).toContain(`Message-ID: <order_confirmation.${orderId}@stampede.local>`)
    expect(delivered[0]).toContain('Stall Lamp')
    // mail_log says 'sent' as soon as SMTP accepted; BullMQ marks the job completed a moment later.
    await waitFor('the job to complete', async () => (await (await emails.getJob(eventId))?.getState()) === 'completed')
    expect(b.output()).toContain('job stalled')

    // Running the same job again (a duplicate publish) sends nothing more.
    await emails.add('send-confirmation', { eventId, orderId, kind: 'order_confirmation', payload }, { jobId: `${eventId}-again` })
    await waitFor(
      'the duplicate job to complete',
      async () => (await (await emails.getJob(`${eventId}-again`))?.getState()) === 'completed',
    )
    expect(smtp.accepted.filter((m) => m.includes(orderId))).toHaveLength(1)

    // SIGTERM: the worker closes gracefully and exits 0.
    expect(await b.stop('SIGTERM')).toBe(0)
    expect(b.output()).toContain('workers closed')
  }, 90_000)

  test('SIGTERM while a job is stuck: the worker waits SHUTDOWN_TIMEOUT_MS, hands the job back, exits; the next worker finishes it once', async () => {
    const buyer = await createUser('customer')
    const productId = await productWithStock(10, 1, 'Term Mug')
    for (const w of workers) if (w.proc.exitCode === null) await w.stop('SIGKILL') // nothing left from before
    const orderId = Bun.randomUUIDv7()
    const payload = {
      orderId,
      userId: buyer.id,
      items: [{ productId, quantity: 1, unitPriceCents: 1250 }],
      totalCents: 1250,
      currency: 'USD',
    }
    smtp.setHang(true)
    const c = await startWorkerProcess({ ...env, SHUTDOWN_TIMEOUT_MS: '1500' })
    workers.push(c)
    const eventId = Bun.randomUUIDv7()
    await emails.add('send-confirmation', { eventId, orderId, kind: 'order_confirmation', payload }, { jobId: eventId, attempts: 5 })
    await waitFor('worker C to be mid-send', async () => {
      const [row] = await db.select().from(mailLog).where(eq(mailLog.orderId, orderId))
      return row?.status === 'sending'
    })
    const t0 = Date.now()
    expect(await c.stop('SIGTERM')).toBe(0)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400) // it gave the job its grace period
    expect(c.output()).toContain('handing them back')

    smtp.setHang(false)
    const metricsPort = freePort()
    const d = await startWorkerProcess({ ...env, WORKER_METRICS_PORT: String(metricsPort) })
    workers.push(d)
    await waitFor(
      'worker D to deliver',
      async () => {
        const [row] = await db.select().from(mailLog).where(eq(mailLog.orderId, orderId))
        return row?.status === 'sent'
      },
      30_000,
    )
    expect(smtp.accepted.filter((m) => m.includes(orderId))).toHaveLength(1)
    // A worker-only process serves its own /metrics: durations of the jobs it ran, queue depth.
    // (the job's duration is observed when BullMQ completes it, a moment after mail_log says 'sent')
    const metrics = await waitFor('the completed job in /metrics', async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
      return text.includes('status="completed"} 1') ? text : null
    })
    expect(metrics).toMatch(/bullmq_job_duration_seconds_count\{queue="order-emails",name="send-confirmation",status="completed"\} 1/)
    expect(metrics).toContain('bullmq_queue_jobs{queue="order-emails",state="waiting"}')
    expect(await d.stop('SIGTERM')).toBe(0)
  }, 90_000)
})
