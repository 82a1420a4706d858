// Work owed after Redis lost its jobs (restart without persistence, failover to a lagging replica,
// a flush). An outbox event marked published, or a payment whose charge job was enqueued, only
// says a job was handed to Redis once; Postgres says what is still owed. This re-adds a job for
// every email not yet delivered and every payment still pending, with the same deterministic job
// ids the first publish used (event id, `pay-<payment id>`), so a job that still exists makes the
// add a no-op, and the effect itself is idempotent (mail_log's UNIQUE (order_id, kind); the
// gateway charges a payment's idempotency key once; settling is conditional on `pending`). It then
// expires overdue reservations and reconciles the inventory gate. Run by every worker when it sees
// Redis come back without its data (jobs/redis-epoch.ts) and on a schedule (`recover-owed`).
import type { JobsOptions, Queue } from 'bullmq'
import { DEFAULT_JOB_OPTIONS, type PaymentJobData, paymentJobOptions, type QueueName } from '../src/infra/queues'
import { pingRedis } from '../src/infra/redis'
import { withTimeout } from '../src/lib/timeout'
import { reconcileGate } from '../src/modules/inventory/service'
import { findOwedEmails } from '../src/modules/mail/service'
import { expireOverdueOrders } from '../src/modules/orders/service'
import { findPendingPayments } from '../src/modules/payments/service'
import { seedClaimMarkers } from '../src/plugins/idempotency'
import { EMAIL_OF_EVENT, emailJob } from './outbox-relay'

export type QueueOf = (name: QueueName) => Queue

/**
 * How far back emails are looked for. After a loss: the retention of completed jobs (which dedupe
 * re-adds). The schedule is a backstop for partial losses the epoch cannot see (evicted keys, a
 * queue cleaned by hand) and looks back an hour: scanning a day of events took 0.6–1.6 s here
 * with 100k events (1 % owed), too much for every minute.
 */
export const LOOKBACK_AFTER_LOSS_MS = 24 * 3600_000
export const LOOKBACK_SCHEDULED_MS = 3600_000
const PAGE = 500
/** Longer than startPayment's enqueue (2 s cap) plus its delete of a row whose enqueue failed. */
export const PAYMENT_GRACE_MS = 10_000
const ADD_TIMEOUT_MS = 10_000

/** The smallest UUIDv7 of a millisecond. Ids compare as bytes, so `id > floor` = created after it. */
export function uuidV7Floor(ms: number): string {
  const h = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-0000-0000-000000000000`
}

export type Recovered = { emails: number; payments: number; expired: number; gateFixed: number | null; markers: number | null }

/**
 * Re-adds the jobs of owed work older than `graceMs` (0 when Redis is known to have lost its
 * data; the schedule leaves younger work to the jobs it surely still has) and younger than
 * `lookbackMs` (emails). Counts are of jobs (re-)added; re-adding a job Redis still holds
 * changes nothing.
 */
export async function recoverOwedWork(
  queueOf: QueueOf,
  graceMs: number,
  lookbackMs = LOOKBACK_AFTER_LOSS_MS,
  rebuildMarkers = false,
): Promise<Recovered> {
  let emails = 0
  for (let after = uuidV7Floor(Date.now() - lookbackMs); ; ) {
    const owed = await findOwedEmails({ kindOf: EMAIL_OF_EVENT, after, graceMs, limit: PAGE })
    if (owed.length === 0) break
    const jobs = owed.map((o) => {
      const j = emailJob(o.eventId, o.orderId, o.kind, o.payload)
      return { name: j.name, data: j.data, opts: { ...DEFAULT_JOB_OPTIONS, jobId: o.eventId } as JobsOptions }
    })
    await withTimeout(queueOf('order-emails').addBulk(jobs), ADD_TIMEOUT_MS, 'recovery: adding email jobs timed out')
    emails += owed.length
    after = owed[owed.length - 1]!.eventId
    if (owed.length < PAGE) break
  }

  let payments = 0
  for (let after: string | undefined; ; ) {
    const pending = await findPendingPayments({ after, graceMs: Math.max(graceMs, PAYMENT_GRACE_MS), limit: PAGE })
    if (pending.length === 0) break
    const jobs = pending.map((p) => {
      const data: PaymentJobData = { orderId: p.orderId, attemptId: p.id, paymentMethod: p.method, idempotencyKey: p.idempotencyKey }
      return { name: 'charge', data, opts: paymentJobOptions(data, p.attempts) }
    })
    await withTimeout(queueOf('payments').addBulk(jobs), ADD_TIMEOUT_MS, 'recovery: adding charge jobs timed out')
    payments += pending.length
    after = pending[pending.length - 1]!.id
    if (pending.length < PAGE) break
  }

  // The expiry sweep and the gate's reconcile are scheduled jobs, and their schedulers lived in
  // the Redis that was lost: run them once now rather than wait for the schedules to be re-added.
  const expired = await expireOverdueOrders(500)
  const gateFixed = (await pingRedis()) === 'ok' ? await reconcileGate().catch(() => null) : null
  // The claim markers the checkout door trusts (src/plugins/idempotency/store.ts): seeded when the
  // markers-complete key is missing (lost with the data, or withdrawn by a claim that could not
  // write its marker); `rebuildMarkers` seeds even when it is there (another server, a failover).
  const markers = await seedClaimMarkers({ rebuild: rebuildMarkers }).catch(() => null)
  return { emails, payments, expired, gateFixed, markers }
}
