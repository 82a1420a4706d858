// `maintenance` queue: periodic sweeps that call other modules' services. Each sweep is idempotent
// (a second run finds nothing left to do), so overlapping ticks or a retry after a crash are safe.
import { type Job, UnrecoverableError } from 'bullmq'
import { logger } from '../../src/infra/logger'
import { pingRedis } from '../../src/infra/redis'
import { gateFixes } from '../metrics'
import { optionalExport } from '../optional'
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
    case 'expire-reservations': {
      const expire = await use<(limit?: number) => Promise<number | { expired: number }>>('orders/service.ts', 'expireOverdueOrders')
      if (!expire) return { skipped: true }
      const result = await expire(500)
      return { expired: typeof result === 'number' ? result : result?.expired }
    }
    case 'reconcile-gate': {
      const reconcile = await use<() => Promise<number>>('inventory/service.ts', 'reconcileGate')
      if (!reconcile) return { skipped: true }
      // The gate lives on the shared fail-fast client; right after boot it may still be connecting.
      if ((await pingRedis()) !== 'ok') return { skipped: 'redis unavailable' }
      const fixed = await reconcile()
      if (fixed > 0) {
        gateFixes.inc(fixed)
        logger.warn({ fixed }, 'inventory gate drift corrected')
      }
      return { fixed }
    }
    case 'purge-idempotency-keys': {
      const purge = await use<() => Promise<number>>('orders/service.ts', 'purgeExpiredIdempotencyKeys')
      return purge ? { purged: await purge() } : { skipped: true }
    }
    case 'purge-refresh-tokens': {
      // Identity module (another branch): wired automatically once src/modules/auth/service.ts
      // exports purgeExpiredRefreshTokens().
      const purge = await use<() => Promise<number>>('auth/service.ts', 'purgeExpiredRefreshTokens')
      return purge ? { purged: await purge() } : { skipped: true }
    }
    default:
      throw new UnrecoverableError(`maintenance: unknown job name ${job.name}`)
  }
}
