// What happens once per process after migrations: ensure the configured admin (not again in forked
// API children: their parent did), seed demo data on a fresh embedded database, and start
// background work (BullMQ workers, relays) per ROLE.
import { config } from './config'
import { logger } from './infra/logger'
import { redis, redisUrl } from './infra/redis'

export async function onBoot(opts: { seedDemo: boolean; ensureAdmin: boolean }): Promise<void> {
  redis() // connect eagerly so the first request does not find Redis still connecting
  if (config.NODE_ENV === 'production' && config.CORS_ORIGINS.split(',').some((o) => o.trim() === '*')) {
    logger.warn('CORS_ORIGINS is * in production: any website can call this API from a browser (without credentials); list your origins')
  }
  if (opts.ensureAdmin) {
    const { ensureAdmin } = await import('./modules/auth/service')
    await ensureAdmin()
  }
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
  const { startWorkers } = await import('../jobs/worker')
  const closeWorkers = await startWorkers()
  // A worker-only process serves its own /metrics (job durations and failures live in it).
  const stopMetrics = config.ROLE === 'worker' ? await serveWorkerMetrics() : () => {}
  return async () => {
    stopMetrics()
    await closeWorkers()
    const { closeQueues } = await import('./infra/queues')
    await closeQueues()
  }
}

async function serveWorkerMetrics(): Promise<() => void> {
  if (config.WORKER_METRICS_PORT === 0) return () => {}
  const { registry } = await import('./infra/metrics')
  try {
    const server = Bun.serve({
      port: config.WORKER_METRICS_PORT,
      hostname: config.HOST,
      fetch: async (req) =>
        new URL(req.url).pathname === '/metrics'
          ? new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } })
          : new Response('not found', { status: 404 }),
    })
    logger.info({ port: server.port }, 'worker metrics on /metrics')
    return () => server.stop(true)
  } catch (err) {
    logger.warn({ err: (err as Error).message, port: config.WORKER_METRICS_PORT }, 'worker metrics port unavailable; not serving /metrics')
    return () => {}
  }
}
