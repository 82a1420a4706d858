// Worker entry: one BullMQ Worker per queue, each with its processor (jobs/processors/<queue>.ts),
// schedules upserted at boot, the outbox relay, error listeners and job metrics. Started by
// src/boot.ts when ROLE is all|worker and JOBS_ENABLED; several worker processes may run at once
// (BullMQ hands each job to one of them; schedulers are upserted by id; the relay uses SKIP LOCKED).
import { type Job, type Processor, Queue, Worker } from 'bullmq'
import type Redis from 'ioredis'
import { config } from '../src/config'
import { logger } from '../src/infra/logger'
import { QUEUES, type QueueName, registerQueueDepthGauge } from '../src/infra/queues'
import { createRedis, redisOutage } from '../src/infra/redis'
import { isConnectionError } from '../src/lib/outage-log'
import { seedClaimMarkers } from '../src/plugins/idempotency'
import { jobDuration, jobFailures } from './metrics'
import { startOutboxRelay } from './outbox-relay'
import { processAnalytics } from './processors/analytics'
import { processMaintenance } from './processors/maintenance'
import { processMlTraining } from './processors/ml-training'
import { processOrderEmails } from './processors/order-emails'
import { processPayments } from './processors/payments'
import { processPlanning } from './processors/planning'
import { processRecommendations } from './processors/recommendations'
import { processRisk } from './processors/risk'
import { processSearch } from './processors/search'
import { processStockAlerts } from './processors/stock-alerts'
import { PAYMENT_GRACE_MS, recoverOwedWork } from './recovery'
import { watchRedisEpoch } from './redis-epoch'
import { registerSchedules } from './schedules'

/** One processor per queue (`payments` is the orders module's: jobs/processors/payments.ts). */
const processors: Record<QueueName, Processor> = {
  payments: processPayments as Processor,
  'order-emails': processOrderEmails as Processor,
  'stock-alerts': processStockAlerts as Processor,
  maintenance: processMaintenance as Processor,
  recommendations: processRecommendations as Processor,
  planning: processPlanning as Processor,
  'ml-training': processMlTraining as Processor,
  search: processSearch as Processor,
  risk: processRisk as Processor,
  analytics: processAnalytics as Processor,
}

/** Per-queue concurrency overrides (emails and payments are I/O bound; sweeps need one at a time). */
const concurrencyOf = (q: QueueName): number =>
  q === 'maintenance' || q === 'recommendations' || q === 'ml-training' || q === 'search' ? 1 : config.JOBS_CONCURRENCY

/** Connection errors go to the process's outage log (a few lines per outage); others are logged. */
function reportError(source: string, err: Error): void {
  if (isConnectionError(err)) redisOutage.failed(source, err)
  else logger.error({ source, err: err.message }, 'worker error')
}

function instrument(queueName: QueueName, fn: Processor): Processor {
  return async (job: Job, token?: string, signal?: AbortSignal) => {
    const end = jobDuration.startTimer({ queue: queueName, name: job.name })
    try {
      const result = await fn(job, token, signal)
      end({ status: 'completed' })
      return result
    } catch (err) {
      end({ status: 'failed' })
      throw err
    }
  }
}

export type WorkerSet = { workers: Worker[]; schedulesReady: Promise<void>; close: () => Promise<void> }

export type StartOptions = { queues?: readonly QueueName[]; schedules?: boolean; relay?: boolean }

/**
 * Starts workers (and by default the schedules and the outbox relay); resolves with a closer that
 * stops taking jobs, lets running jobs finish within SHUTDOWN_TIMEOUT_MS, then hands back whatever
 * is still running (its lock lapses and another worker picks it up as stalled).
 */
export async function startWorkers(opts: StartOptions = {}): Promise<() => Promise<void>> {
  const set = await startWorkerSet(opts)
  return set.close
}

/** JOBS_QUEUES narrows what this process works on (e.g. a dedicated email worker). */
function configuredQueues(): QueueName[] {
  const wanted = config.JOBS_QUEUES.split(',')
    .map((q) => q.trim())
    .filter(Boolean)
  const unknown = wanted.filter((q) => !QUEUES.includes(q as QueueName))
  if (unknown.length) throw new Error(`config: JOBS_QUEUES names unknown queues: ${unknown.join(', ')}`)
  return wanted.length ? (wanted as QueueName[]) : [...QUEUES]
}

export async function startWorkerSet(opts: StartOptions = {}): Promise<WorkerSet> {
  const names = opts.queues ?? configuredQueues()
  const connection: Redis = createRedis('worker')
  registerQueueDepthGauge()
  const workers: Worker[] = []
  for (const name of names) {
    const worker = new Worker(name, instrument(name, processors[name]), {
      connection,
      prefix: config.REDIS_PREFIX,
      concurrency: concurrencyOf(name),
      lockDuration: config.JOBS_LOCK_DURATION_MS,
      stalledInterval: config.JOBS_STALLED_INTERVAL_MS,
      maxStalledCount: 2,
    })
    worker.on('error', (err) => reportError(`worker:${name}`, err))
    worker.on('failed', (job, err) => {
      if (!job) return
      const final = job.attemptsMade >= (job.opts.attempts ?? 1) || err.name === 'UnrecoverableError'
      jobFailures.inc({ queue: name, name: job.name, final: String(final) })
      logger[final ? 'error' : 'warn'](
        { queue: name, job: job.name, jobId: job.id, attempt: job.attemptsMade, err: err.message },
        'job failed',
      )
    })
    worker.on('stalled', (jobId) => logger.warn({ queue: name, jobId }, 'job stalled; it will be retried'))
    workers.push(worker)
  }

  // Schedules are registered through Queues on the worker connection (offline queue on), so a
  // worker that boots while Redis is down registers them as soon as it connects.
  const schedulerQueues = new Map<QueueName, Queue>()
  const queueOf = (name: QueueName) => {
    let q = schedulerQueues.get(name)
    if (!q) {
      q = new Queue(name, { connection, prefix: config.REDIS_PREFIX })
      q.on('error', (err) => reportError(`queue:${name}`, err))
      schedulerQueues.set(name, q)
    }
    return q
  }
  // Not awaited by boot: with Redis down the worker still starts and registers on reconnect.
  const schedulesReady =
    opts.schedules === false
      ? Promise.resolve()
      : registerSchedules(queueOf, names).catch((err) => logger.error({ err: err.message }, 'could not register job schedulers'))
  let secondPass: Timer | undefined
  // Redis came back without its data: the schedules and every owed job are rebuilt from Postgres.
  const epoch =
    opts.schedules === false
      ? null
      : watchRedisEpoch(connection, config.REDIS_EPOCH_CHECK_MS, async (why) => {
          logger.warn({ why }, 'redis lost its data: re-adding the schedules and the owed jobs from Postgres')
          await registerSchedules(queueOf, names)
          logger.info(await recoverOwedWork(queueOf, 0, undefined, true), 'owed work recovered')
          // Payments younger than PAYMENT_GRACE_MS were left to the /pay request that created them
          // (it may still be deleting a row whose enqueue failed): a second pass once that is over.
          clearTimeout(secondPass)
          secondPass = setTimeout(() => {
            recoverOwedWork(queueOf, 0).then(
              (r) => logger.info(r, 'owed work recovered (second pass)'),
              (err) => logger.warn({ err: (err as Error).message }, 'second recovery pass failed; the schedule retries'),
            )
          }, PAYMENT_GRACE_MS + 1000)
          secondPass.unref?.()
        })
  // Claims made while Redis was unreachable have no marker. The API process that made one
  // withdraws markers-complete when it reconnects, but it may have died meanwhile: every reconnect
  // of the worker rebuilds the markers (src/plugins/idempotency/store.ts).
  let connectedBefore = false
  connection.on('ready', () => {
    if (connectedBefore)
      void seedClaimMarkers({ rebuild: true, client: connection }).catch((err) =>
        logger.warn({ err: (err as Error).message }, 'could not rebuild the claim markers; the recovery schedule retries'),
      )
    connectedBefore = true
  })
  const stopRelay = (opts.relay ?? config.OUTBOX_RELAY_ENABLED) ? startOutboxRelay() : async () => {}
  logger.info({ queues: workers.map((w) => w.name) }, 'workers started')

  let closing: Promise<void> | null = null
  const close = () => {
    closing ??= (async () => {
      epoch?.stop()
      clearTimeout(secondPass)
      await stopRelay()
      const graceful = Promise.all(workers.map((w) => w.close())).then(() => true)
      const finished = await Promise.race([graceful, Bun.sleep(config.SHUTDOWN_TIMEOUT_MS).then(() => false)])
      await Promise.allSettled([...schedulerQueues.values()].map((q) => q.close()))
      if (finished) await connection.quit().catch(() => connection.disconnect())
      else {
        // A second close() would just await the first (BullMQ memoises it), so stop waiting and
        // drop the connection: the still-running job's lock is no longer renewed, it lapses after
        // JOBS_LOCK_DURATION_MS and another worker recovers the job as stalled.
        logger.warn('jobs still running at shutdown; handing them back (they will be retried as stalled)')
        connection.disconnect()
      }
      logger.info('workers closed')
    })()
    return closing
  }
  return { workers, schedulesReady, close }
}
