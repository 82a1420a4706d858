// Transactional outbox relay. Domain events are committed to outbox_events with the change they
// describe (src/lib/outbox.ts); this loop claims unpublished rows with FOR UPDATE SKIP LOCKED (so
// several workers split the backlog instead of double-publishing), adds each to its BullMQ queue
// with jobId = event id, and stamps published_at in the same transaction. If Redis is down the add
// fails, the transaction rolls back and the rows wait in Postgres. If the add succeeds but the
// commit does not, the next round re-adds with the same jobId, which BullMQ ignores while the job
// is retained; consumers are idempotent as well (mail_log, stock_alerts unique keys).
// Polled every OUTBOX_POLL_MS (a probe of the partial unpublished index). Deliberately no
// LISTEN/NOTIFY: NOTIFY takes a cluster-wide lock from pre-commit to the end of commit, serialising
// every order transaction's commit; measured here at 3–8× fewer insert transactions/s (20 clients:
// 2,300–3,400 tx/s without, 400–750 with), so it would throttle the flash sale.
import type { JobsOptions } from 'bullmq'
import type { MlModelName } from '../db/schema'
import { config } from '../src/config'
import { sql } from '../src/infra/db'
import { logger } from '../src/infra/logger'
import { EMAIL_JOB_OF_KIND, type JobDataOf, type JobName, type OrderEmailJobData, type QueueName, queue } from '../src/infra/queues'
import { withTimeout } from '../src/lib/timeout'
import { outboxPublished, outboxRelayErrors } from './metrics'

export type OutboxRow = { id: string; type: string; aggregateId: string; payload: Record<string, unknown> }
/**
 * `dedupe`: jobs with the same id collapse (BullMQ deduplication, keepLastIfActive: at most one
 * running and one waiting), for work that recomputes from current data: a sale's hundreds of stock
 * events for one product become one re-plan, plus one more if they arrive while it runs.
 */
type Route = { [Q in QueueName]: { queue: Q; name: JobName<Q>; data: JobDataOf[Q]; dedupe?: string } }[QueueName]

/**
 * The email each event type owes its order. The relay routes by it, and the recovery after Redis
 * lost its data asks Postgres which of these were never delivered (jobs/recovery.ts): a new kind
 * of email is one line here (and its job name in EMAIL_JOB_OF_KIND).
 */
export const EMAIL_OF_EVENT: Readonly<Record<string, OrderEmailJobData['kind']>> = {
  'order.created': 'order_confirmation', // "order received"
  'order.paid': 'payment_receipt', // "order confirmed", with the receipt
  'order.payment_failed': 'payment_failed',
  'order.cancelled': 'order_cancelled',
  'order.refunded': 'order_refunded',
}

/** The `order-emails` job that delivers an email; jobId = the event id, so re-adding it is a no-op. */
export function emailJob(eventId: string, orderId: string, kind: OrderEmailJobData['kind'], payload: Record<string, unknown>) {
  return {
    queue: 'order-emails',
    name: EMAIL_JOB_OF_KIND[kind],
    data: { eventId, orderId, kind, payload },
  } as const satisfies Route
}

/** Payment outcomes re-score the order (risk); events without a payment id (none today) are skipped. */
function riskRoute(e: OutboxRow, outcome: 'failed' | 'succeeded'): Route[] {
  const paymentId = e.payload.paymentId
  if (typeof paymentId !== 'string') return []
  return [{ queue: 'risk', name: 'rescore-order', data: { eventId: e.id, orderId: e.aggregateId, paymentId, outcome } }]
}
/** Events the analytics rollups and the admin live feed consume. */
export const ANALYTICS_EVENTS: ReadonlySet<string> = new Set([
  'order.created',
  'order.paid',
  'order.cancelled',
  'order.refunded',
  'stock.low',
  'stock.restocked',
])

/** Which queues consume which event (fan-out); events no job cares about are marked published unrouted. */
export function routeEvent(e: OutboxRow): Route[] {
  const routes = routeEventToOwners(e)
  if (ANALYTICS_EVENTS.has(e.type))
    routes.push({
      queue: 'analytics',
      name: 'apply-event',
      data: { eventId: e.id, type: e.type, aggregateId: e.aggregateId, payload: e.payload },
    })
  return routes
}

function routeEventToOwners(e: OutboxRow): Route[] {
  const kind = EMAIL_OF_EVENT[e.type]
  const email: Route[] = kind ? [emailJob(e.id, e.aggregateId, kind, e.payload)] : []
  switch (e.type) {
    case 'order.created':
      return email
    case 'order.paid':
      return [
        ...email,
        // "Also bought" learns from the purchase and the buyer's cached recommendations are dropped.
        { queue: 'recommendations', name: 'apply-order', data: { eventId: e.id, orderId: e.aggregateId } },
        ...riskRoute(e, 'succeeded'),
      ]
    case 'order.payment_failed':
      return [...email, ...riskRoute(e, 'failed')]
    case 'stock.low':
    case 'stock.restocked': {
      const productId = String(e.payload.productId ?? e.aggregateId)
      const check: Route = { queue: 'stock-alerts', name: 'check-product', data: { eventId: e.id, productId, reason: e.type } }
      // Below the reorder point, or restocked: planning re-plans the product within seconds.
      return [
        check,
        { queue: 'planning', name: 'suggest-product', data: { eventId: e.id, productId }, dedupe: `suggest-product:${productId}` },
      ]
    }
    case 'stock.replan': {
      // Crossed planning's forecast reorder point or big-sale level (inventory's replan_level).
      const productId = String(e.payload.productId ?? e.aggregateId)
      return [{ queue: 'planning', name: 'suggest-product', data: { eventId: e.id, productId }, dedupe: `suggest-product:${productId}` }]
    }
    case 'ml.train_requested':
      return [{ queue: 'ml-training', name: 'train-model', data: { runId: e.aggregateId, name: String(e.payload.name) as MlModelName } }]
    default:
      return email
  }
}

const PUBLISH_TIMEOUT_MS = 2000

/** One relay round: publishes up to `limit` events; returns how many rows it marked published. */
export async function relayOnce(limit = config.OUTBOX_BATCH_SIZE): Promise<number> {
  return sql.begin(async (tx) => {
    const rows = await tx<OutboxRow[]>`
      select id, type, aggregate_id as "aggregateId", payload from outbox_events
      where published_at is null order by created_at, id limit ${limit}
      for update skip locked`
    if (rows.length === 0) return 0
    const byQueue = new Map<QueueName, { name: string; data: unknown; opts: JobsOptions }[]>()
    for (const row of rows) {
      for (const route of routeEvent(row)) {
        const list = byQueue.get(route.queue) ?? []
        const deduplication = route.dedupe ? { deduplication: { id: route.dedupe, keepLastIfActive: true } } : {}
        list.push({ name: route.name, data: route.data, opts: { jobId: row.id, ...deduplication } })
        byQueue.set(route.queue, list)
      }
    }
    // addBulk is one MULTI per queue. Any failure throws: the transaction rolls back, rows stay.
    for (const [name, jobs] of byQueue) {
      // biome-ignore lint/suspicious/noExplicitAny: routes are typed above; addBulk's generics are not per-job
      await withTimeout(queue(name).addBulk(jobs as any), PUBLISH_TIMEOUT_MS)
    }
    const ids = rows.map((r) => r.id)
    await tx`update outbox_events set published_at = now(), attempts = attempts + 1 where id in ${tx(ids)}`
    for (const r of rows) outboxPublished.inc({ type: r.type })
    return rows.length
  })
}

/** Drains the backlog (round after round) until a round comes back short. */
export async function drainOutbox(): Promise<number> {
  let total = 0
  for (;;) {
    const n = await relayOnce()
    total += n
    if (n < config.OUTBOX_BATCH_SIZE) return total
  }
}

/** Deletes events published more than `days` ago (the daily cleanup); unpublished ones are never touched. */
export async function purgePublishedEvents(days: number): Promise<number> {
  let total = 0
  for (;;) {
    const rows = await sql`
      delete from outbox_events where id in (
        select id from outbox_events where published_at < now() - make_interval(days => ${days}) limit 5000)
      returning 1`
    total += rows.length
    if (rows.length < 5000) return total
  }
}

/** Starts the relay loop; returns its closer. Failures back off up to 10 s and are counted. */
export function startOutboxRelay(): () => Promise<void> {
  let stopped = false
  let failures = 0
  let seen = new Set<string>() // this outage's kinds of error
  let sleeping: { resolve: () => void; timer: Timer } | null = null
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      sleeping = { resolve, timer: setTimeout(resolve, ms) }
    })
  const loop = (async () => {
    while (!stopped) {
      try {
        await drainOutbox()
        if (failures > 0) logger.info({ after: failures }, 'outbox relay recovered')
        failures = 0
        seen = new Set()
      } catch (err) {
        failures++
        outboxRelayErrors.inc()
        // Every 30th round, and the first time each kind of error shows up in this outage (a new
        // failure mode after Redis came back is not hidden behind the first one; errors that
        // alternate are not logged every round). Kinds differ by more than their numbers.
        const message = String((err as Error | null)?.message ?? err)
        const kind = message.replace(/\d+/g, 'N')
        const isNew = !seen.has(kind) && seen.size < 10
        if (isNew) seen.add(kind)
        if (isNew || failures % 30 === 0) logger.warn({ err: message, failures }, 'outbox relay round failed; events wait in Postgres')
      }
      if (stopped) break
      await sleep(failures ? Math.min(config.OUTBOX_POLL_MS * 2 ** Math.min(failures, 4), 10_000) : config.OUTBOX_POLL_MS)
    }
  })()
  return async () => {
    stopped = true
    if (sleeping) {
      const s = sleeping as { resolve: () => void; timer: Timer }
      clearTimeout(s.timer)
      s.resolve()
    }
    await loop
  }
}
