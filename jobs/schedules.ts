// Recurring jobs, registered with `upsertJobScheduler` at every worker boot. The scheduler id is
// the identity: upserting the same id from several workers or after a restart updates one
// scheduler instead of adding another, so there is never more than one of each.
import type { Queue } from 'bullmq'
import { config } from '../src/config'
import { logger } from '../src/infra/logger'
import type { JobName, QueueName } from '../src/infra/queues'

export type Schedule<Q extends QueueName = QueueName> = { id: string; queue: Q; job: JobName<Q>; every: number; pattern?: string }

export function schedules(): Schedule[] {
  return [
    { id: 'expire-reservations', queue: 'maintenance', job: 'expire-reservations', every: config.SCHEDULE_EXPIRE_RESERVATIONS_MS },
    { id: 'sweep-sales', queue: 'maintenance', job: 'sweep-sales', every: config.SCHEDULE_SALES_MS },
    { id: 'reconcile-gate', queue: 'maintenance', job: 'reconcile-gate', every: config.SCHEDULE_RECONCILE_GATE_MS },
    { id: 'purge-idempotency-keys', queue: 'maintenance', job: 'purge-idempotency-keys', every: config.SCHEDULE_CLEANUP_MS },
    { id: 'purge-refresh-tokens', queue: 'maintenance', job: 'purge-refresh-tokens', every: config.SCHEDULE_CLEANUP_MS },
    { id: 'purge-outbox', queue: 'maintenance', job: 'purge-outbox', every: config.SCHEDULE_CLEANUP_MS },
    { id: 'recover-owed', queue: 'maintenance', job: 'recover-owed', every: config.SCHEDULE_RECOVER_MS },
    { id: 'low-stock-check', queue: 'stock-alerts', job: 'check-all', every: config.SCHEDULE_LOW_STOCK_MS },
    { id: 'rebuild-analytics', queue: 'analytics', job: 'rebuild-rollups', every: config.SCHEDULE_ANALYTICS_REBUILD_MS },
    { id: 'rebuild-recommendations', queue: 'recommendations', job: 'rebuild-matrix', every: config.SCHEDULE_RECOMMENDATIONS_MS },
    { id: 'refresh-forecasts', queue: 'planning', job: 'refresh-forecasts', every: config.SCHEDULE_FORECASTS_MS },
    { id: 'refresh-suggestions', queue: 'planning', job: 'refresh-suggestions', every: config.SCHEDULE_REORDER_MS },
    // A cron: an `every` schedule fires at each worker boot, and a full retraining is minutes of CPU.
    { id: 'train-models', queue: 'ml-training', job: 'train-all', every: 0, pattern: config.ML_TRAINING_CRON },
    // A cron: an `every` schedule fires at each worker boot, and a build is CPU-minutes at 100k products.
    { id: 'rebuild-search-index', queue: 'search', job: 'build-index', every: 0, pattern: config.SEARCH_INDEX_CRON },
  ] as Schedule[]
}

/** Upserts every schedule; `queueOf` returns a Queue on a connection that waits for Redis. */
export async function registerSchedules(queueOf: (name: QueueName) => Queue, only: readonly QueueName[]): Promise<void> {
  const mine = schedules().filter((s) => only.includes(s.queue))
  for (const s of mine) {
    await queueOf(s.queue).upsertJobScheduler(s.id, s.pattern ? { pattern: s.pattern, tz: 'UTC' } : { every: s.every }, {
      name: s.job,
      data: {},
      // Sweeps are idempotent and the next tick retries anyway: one attempt, short history.
      opts: { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 200 } },
    })
  }
  logger.info({ schedules: mine.map((s) => `${s.queue}/${s.id}@${s.pattern ?? `${s.every}ms`}`) }, 'job schedulers upserted')
}
