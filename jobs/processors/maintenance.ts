// `maintenance` queue: periodic sweeps that call other modules' services (orders, inventory,
// auth's refresh-token purge, the outbox retention). Each sweep is idempotent
// (a second run finds nothing left to do), so overlapping ticks or a retry after a crash are safe.
import { type Job, UnrecoverableError } from 'bullmq'
import { config } from '../../src/config'
import { logger } from '../../src/infra/logger'
import { type EmptyJobData, type JobName, queue } from '../../src/infra/queues'
import { pingRedis } from '../../src/infra/redis'
import { pruneRefreshTokens } from '../../src/modules/auth/service'
import { reconcileGate } from '../../src/modules/inventory/service'
import { expireOverdueOrders, purgeExpiredIdempotencyKeys } from '../../src/modules/orders/service'
import { sweepSales } from '../../src/modules/sales/service'
import { purgePublishedEvents } from '../outbox-relay'
import { LOOKBACK_SCHEDULED_MS, type QueueOf, recoverOwedWork } from '../recovery'

export async function processMaintenance(job: Job<EmptyJobData, unknown, JobName<'maintenance'>>): Promise<unknown> {
  switch (job.name) {
    case 'expire-reservations':
      return { expired: await expireOverdueOrders(500) }
    case 'reconcile-gate': {
      // The gate lives on the shared fail-fast client; right after boot it may still be connecting.
      if ((await pingRedis()) !== 'ok') return { skipped: 'redis unavailable' }
      // reconcileGate counts what it fixed in inventory_gate_reconcile_fixes_total (inventory module).
      const fixed = await reconcileGate()
      if (fixed > 0) logger.warn({ fixed }, 'inventory gate drift corrected')
      return { fixed }
    }
    case 'sweep-sales':
      // Gates before the opening, unsold units back to the product at the end (sales module).
      return sweepSales()
    case 'purge-idempotency-keys':
      return { purged: await purgeExpiredIdempotencyKeys() }
    case 'purge-refresh-tokens':
      return { purged: await pruneRefreshTokens() }
    case 'purge-outbox':
      return { purged: await purgePublishedEvents(config.OUTBOX_RETENTION_DAYS) }
    case 'recover-owed':
      // Emails and charges whose jobs Redis no longer holds (the backstop of the epoch watch).
      return recoverOwedWork(queue as unknown as QueueOf, config.JOBS_RECOVERY_GRACE_MS, LOOKBACK_SCHEDULED_MS)
    default:
      throw new UnrecoverableError(`maintenance: unknown job name ${job.name}`)
  }
}
