// `maintenance` queue: periodic sweeps that call other modules' services (orders, inventory, and
// identity's refresh-token purge, bound late because that module is on another branch). Each sweep is idempotent
// (a second run finds nothing left to do), so overlapping ticks or a retry after a crash are safe.
import { type Job, UnrecoverableError } from 'bullmq'
import { config } from '../../src/config'
import { logger } from '../../src/infra/logger'
import { pingRedis } from '../../src/infra/redis'
import { reconcileGate } from '../../src/modules/inventory/service'
import { expireOverdueOrders, purgeExpiredIdempotencyKeys } from '../../src/modules/orders/service'
import { optionalExport } from '../optional'
import { purgePublishedEvents } from '../outbox-relay'
import type { EmptyJobData, JobName } from '../queues'

const modules = `${import.meta.dir}/../../src/modules`

/** Loads an export another module promises; null (with a log line) until that code exists. */
async function use<F>(file: string, name: string): Promise<F | null> {
  const fn = await optionalExport<F>(`${modules}/${file}`, name)
  if (!fn) logger.info({ file, name }, `${name} is not available in this build; skipping`)
  return fn
}

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
    case 'purge-idempotency-keys':
      return { purged: await purgeExpiredIdempotencyKeys() }
    case 'purge-refresh-tokens': {
      // Identity module (another branch): wired automatically once src/modules/auth/service.ts
      // exports purgeExpiredRefreshTokens().
      const purge = await use<() => Promise<number>>('auth/service.ts', 'purgeExpiredRefreshTokens')
      return purge ? { purged: await purge() } : { skipped: true }
    }
    case 'purge-outbox':
      return { purged: await purgePublishedEvents(config.OUTBOX_RETENTION_DAYS) }
    default:
      throw new UnrecoverableError(`maintenance: unknown job name ${job.name}`)
  }
}
