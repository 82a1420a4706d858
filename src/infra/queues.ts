// Queue names, typed job data and producers: in src/ because the API produces jobs (a charge, the
// outbox relay's publishes), and jobs/ (the workers) depends on src/, never the reverse. Producers share ONE fail-fast ioredis client
// (`createRedis('producer')`: no offline queue), so an enqueue on the HTTP path fails in
// milliseconds when Redis is down instead of hanging; callers that must not lose work write an
// outbox event instead (src/lib/outbox.ts) and let the relay publish it later.
import { type JobsOptions, Queue } from 'bullmq'
import type Redis from 'ioredis'
import type { MlModelName, OrderMailKind } from '../../db/schema'
import { config } from '../config'
import { withTimeout } from '../lib/timeout'
import { gauge } from './metrics'
import { createRedis } from './redis'

/** Every queue this app runs. One processor per queue (jobs/processors/<queue>.ts). */
export const QUEUES = [
  'payments',
  'order-emails',
  'stock-alerts',
  'maintenance',
  'recommendations',
  'planning',
  'ml-training',
  'search',
  'risk',
  'analytics',
] as const
export type QueueName = (typeof QUEUES)[number]

/** `payments` / `charge`: one charge attempt of an order (jobs/processors/payments.ts runs orders' runChargeAttempt). */
export type PaymentJobData = {
  orderId: string
  /** the payment attempt row this job drives */
  attemptId: string
  paymentMethod: string
  /** the order's idempotency key, forwarded to the gateway so a retry never charges twice */
  idempotencyKey: string
}

/** `order-emails`: one transactional email about one order; `eventId` is the outbox event. */
export type OrderEmailJobData = {
  eventId: string
  orderId: string
  kind: OrderMailKind
  /** the outbox payload (see OrderEventPayload), so the email matches the committed order */
  payload: Record<string, unknown>
}

/** `stock-alerts`: `check-product` (after stock.low / stock.restocked) or `check-all` (daily). */
export type StockAlertJobData = { productId?: string; eventId?: string; reason?: string }

/** `maintenance` and `recommendations` / `rebuild-matrix`: scheduled sweeps carry no data. */
export type EmptyJobData = Record<string, never>

/** `recommendations` / `apply-order`: fold one paid order into the co-occurrence model. */
export type RecommendationJobData = EmptyJobData | { eventId: string; orderId: string }

/** `planning`: scheduled sweeps carry no data; `suggest-product` re-plans one product after stock.low, stock.replan or stock.restocked. */
export type PlanningJobData = EmptyJobData | { eventId: string; productId: string }
/** `ml-training` / `train-model`: one requested training run (ml.train_requested); `train-all`: the schedule. */
export type MlTrainingJobData = EmptyJobData | { runId: string; name: MlModelName }
/** `search` / `build-index`: learn the embeddings and build the vector index (why: for logs). */
export type SearchJobData = { reason?: string }
/** `risk` / `rescore-order`: one payment outcome of an order (from order.paid / order.payment_failed). */
export type RiskJobData = { eventId: string; orderId: string; paymentId: string; outcome: 'failed' | 'succeeded' }
/** `analytics` / `apply-event`: fold one outbox event into the rollups and the live feed. */
export type AnalyticsJobData = EmptyJobData | { eventId: string; type: string; aggregateId: string; payload: Record<string, unknown> }

export type JobDataOf = {
  payments: PaymentJobData
  'order-emails': OrderEmailJobData
  'stock-alerts': StockAlertJobData
  maintenance: EmptyJobData
  recommendations: RecommendationJobData
  planning: PlanningJobData
  'ml-training': MlTrainingJobData
  search: SearchJobData
  risk: RiskJobData
  analytics: AnalyticsJobData
}

/** Job names per queue (verb-noun); processors `switch (job.name)` over these. */
export const JOB_NAMES = {
  payments: ['charge'],
  'order-emails': ['send-confirmation', 'send-receipt', 'send-payment-failed', 'send-cancellation', 'send-refund'],
  'stock-alerts': ['check-product', 'check-all'],
  maintenance: [
    'expire-reservations',
    'reconcile-gate',
    'purge-idempotency-keys',
    'purge-refresh-tokens',
    'purge-outbox',
    'recover-owed',
    'sweep-sales',
  ],
  recommendations: ['rebuild-matrix', 'apply-order'],
  planning: ['refresh-forecasts', 'refresh-suggestions', 'suggest-product'],
  'ml-training': ['train-model', 'train-all'],
  search: ['build-index'],
  risk: ['rescore-order'],
  analytics: ['apply-event', 'rebuild-rollups'],
} as const satisfies Record<QueueName, readonly string[]>
export type JobName<Q extends QueueName> = (typeof JOB_NAMES)[Q][number]

/**
 * Retention and retry defaults. Completed jobs are kept for a day so a re-published outbox event
 * (same jobId) is recognised as a duplicate by BullMQ; consumers are idempotent anyway.
 */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.5 },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
}

let producer: Redis | null = null
const queues = new Map<QueueName, Queue>()

/** The producer-side Queue (fail-fast connection). Throws when Redis is not configured. */
export function queue<Q extends QueueName>(name: Q): Queue<JobDataOf[Q], unknown, JobName<Q>> {
  let q = queues.get(name)
  if (!q) {
    producer ??= createRedis('producer')
    q = new Queue(name, { connection: producer, prefix: config.REDIS_PREFIX, defaultJobOptions: DEFAULT_JOB_OPTIONS })
    q.on('error', () => {}) // connection errors are logged once by createRedis; callers see rejections
    queues.set(name, q)
  }
  return q as unknown as Queue<JobDataOf[Q], unknown, JobName<Q>>
}

/** Longest an enqueue may take. BullMQ waits for a connection that was never ready; we do not. */
export const ENQUEUE_TIMEOUT_MS = 2000

async function add<Q extends QueueName>(name: Q, job: JobName<Q>, data: JobDataOf[Q], opts?: JobsOptions) {
  // If it lands after we gave up, the jobId (when given) makes a retry of the caller a no-op.
  return withTimeout(
    // biome-ignore lint/suspicious/noExplicitAny: BullMQ's add() overloads do not narrow generic names
    queue(name).add(job as any, data as any, opts),
    ENQUEUE_TIMEOUT_MS,
    `enqueue to ${name} timed out (Redis unavailable?)`,
  )
}

/**
 * A charge job's options. The job id is the payment's, so enqueueing a payment twice (a replayed
 * request, the recovery after Redis lost its data) leaves one job. `triesUsed` (the payment row's
 * attempts) shortens a re-enqueued job so a payment is never tried more than PAYMENT_MAX_ATTEMPTS.
 */
export function paymentJobOptions(data: PaymentJobData, triesUsed = 0): JobsOptions {
  return {
    ...DEFAULT_JOB_OPTIONS,
    jobId: `pay-${data.attemptId}`,
    attempts: Math.max(1, config.PAYMENT_MAX_ATTEMPTS - triesUsed),
    backoff: { type: 'exponential', delay: config.PAYMENT_RETRY_DELAY_MS, jitter: 0.5 },
  }
}

/** Enqueues a charge (see paymentJobOptions). Rejects fast when Redis is down. */
export function enqueuePayment(data: PaymentJobData, opts: JobsOptions = {}) {
  return add('payments', 'charge', data, { ...paymentJobOptions(data), ...opts })
}

/** The `order-emails` job name of each kind of email (the processor maps it back). */
export const EMAIL_JOB_OF_KIND = {
  order_confirmation: 'send-confirmation',
  payment_receipt: 'send-receipt',
  payment_failed: 'send-payment-failed',
  order_cancelled: 'send-cancellation',
  order_refunded: 'send-refund',
} as const satisfies Record<OrderMailKind, JobName<'order-emails'>>

/** Generic producer for the relay and tests. */
export function enqueue<Q extends QueueName>(name: Q, job: JobName<Q>, data: JobDataOf[Q], opts?: JobsOptions) {
  return add(name, job, data, opts)
}

/** Closes producer queues and their connection (process shutdown, tests). */
export async function closeQueues(): Promise<void> {
  await Promise.allSettled([...queues.values()].map((q) => q.close()))
  queues.clear()
  if (producer) {
    await producer.quit().catch(() => producer?.disconnect())
    producer = null
  }
}

let depthRegistered = false
/** Registers the queue depth gauge (once per process); read from Redis when /metrics is scraped. */
export function registerQueueDepthGauge(): void {
  if (depthRegistered) return
  depthRegistered = true
  gauge('bullmq_queue_jobs', 'Jobs per queue and state, read from Redis on scrape', ['queue', 'state'], async function () {
    this.reset()
    await Promise.all(
      QUEUES.map(async (name) => {
        const counts = await withTimeout(
          queue(name).getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized', 'waiting-children'),
          1000,
        ).catch(() => null)
        if (!counts) return
        for (const [state, n] of Object.entries(counts)) this.set({ queue: name, state }, n)
      }),
    )
  })
}
