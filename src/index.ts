// Boot: resolve infrastructure (embedded Postgres / local Redis when unset), migrate, then serve the
// API and/or run the workers per ROLE. WEB_CONCURRENCY > 1 forks API processes sharing the port
// (reusePort). SIGTERM drains in-flight requests and closes pools within SHUTDOWN_TIMEOUT_MS.
import { config } from './config'
import { resolveInfra, stopEmbedded } from './infra/embedded'
import { logger } from './infra/logger'

const isChild = process.env.STAMPEDE_CHILD === '1'
let stopping = false
let booting: Promise<unknown> = Promise.resolve()

async function prepare(): Promise<void> {
  const { seedDemo } = isChild ? { seedDemo: false } : await resolveInfra()
  if (stopping) return // SIGTERM while booting: stop at the next step (shutdown waits for this one)
  if (!isChild) {
    const { runMigrations } = await import('../db/migrate')
    await runMigrations(config.DATABASE_URL as string)
  }
  if (stopping) return
  const { onBoot } = await import('./boot')
  await onBoot({ seedDemo: seedDemo && !isChild, ensureAdmin: !isChild })
}

async function forkApiProcesses(): Promise<void> {
  const children = Array.from({ length: config.WEB_CONCURRENCY }, (_, i) =>
    Bun.spawn([process.execPath, import.meta.path], {
      env: {
        ...process.env,
        STAMPEDE_CHILD: '1',
        WEB_CONCURRENCY: '1',
        DATABASE_URL: config.DATABASE_URL,
        REDIS_URL: config.REDIS_URL,
        REDIS_PREFIX: config.REDIS_PREFIX,
        // Only the first child also runs workers when ROLE=all, so jobs run once per host.
        ROLE: i === 0 ? config.ROLE : 'api',
      },
      stdout: 'inherit',
      stderr: 'inherit',
    }),
  )
  const stop = () => {
    for (const c of children) c.kill('SIGTERM')
  }
  process.removeAllListeners('SIGTERM')
  process.removeAllListeners('SIGINT')
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  const codes = await Promise.all(children.map((c) => c.exited))
  await stopEmbedded()
  process.exit(codes.find((c) => c !== 0) ?? 0)
}

async function main(): Promise<void> {
  // Signal handlers first: a SIGTERM that arrives while booting still shuts down cleanly.
  const closers: (() => Promise<void>)[] = []
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down')
    const timer = setTimeout(() => {
      logger.error('shutdown timed out; exiting')
      void stopEmbedded().finally(() => process.exit(1))
    }, config.SHUTDOWN_TIMEOUT_MS + 5000)
    // A boot step cut off half-way (a migration, the demo seed) would fail in ways that are hard to
    // tell from real faults; let it finish (the timer still bounds it), the boot stops after it.
    await booting
    for (const close of closers.reverse()) await close().catch((err) => logger.error({ err }, 'close failed'))
    // Unresolved (embedded start still booting): no pool was opened, and importing db would throw.
    if (config.DATABASE_URL) {
      const [{ closeDb }, { closeRedis }, { closeCacheBus }] = await Promise.all([
        import('./infra/db'),
        import('./infra/redis'),
        import('./infra/cache-bus'),
      ])
      await Promise.allSettled([closeDb(), closeRedis(), closeCacheBus()])
    }
    await stopEmbedded()
    clearTimeout(timer)
    process.exit(0)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))

  const boot = prepare()
  booting = boot.catch(() => {})
  await boot
  if (stopping) return
  if (config.ROLE !== 'worker' && config.WEB_CONCURRENCY > 1 && !isChild) return forkApiProcesses()

  if (config.ROLE === 'worker' && config.WORKER_NICE > 0) {
    // After prepare(): a Postgres or Redis this process started must not inherit the lower priority.
    const { lowerCpuPriority } = await import('./tuning/priority')
    logger.info({ nice: lowerCpuPriority(config.WORKER_NICE) }, 'worker CPU priority (WORKER_NICE)')
  }
  const { startBackground } = await import('./boot')
  closers.push(await startBackground())
  const { startMemoryLimit } = await import('./tuning/memory-limit')
  closers.push(startMemoryLimit(config.MEMORY_SOFT_LIMIT_MB))
  if (config.ROLE !== 'worker') {
    const { app } = await import('./app')
    // Join the cache invalidation bus before serving, so this instance's L1 is on from the first read.
    const { pageCache, productCache } = await import('./modules/catalog/cache')
    const { tokenStateCache } = await import('./modules/auth/token-state')
    await Promise.all([productCache.startNear(), pageCache.startNear(), tokenStateCache.startNear()])
    // Warm before listening: a fresh process is slowest exactly when a sale's crowd arrives.
    const { warmUp } = await import('./tuning/warmup')
    await warmUp(app, config.WARMUP_ROUNDS)
    app.listen({ port: config.PORT, hostname: config.HOST, reusePort: true })
    const url = `http://localhost:${app.server?.port}`
    logger.info({ url, swagger: `${url}/swagger`, role: config.ROLE }, `Stampede API listening on ${url} (Swagger UI: ${url}/swagger)`)
    const { startLive } = await import('./modules/live/service')
    const stopLive = startLive(app.server ?? null)
    closers.push(async () => {
      await stopLive() // WebSocket clients would hold the server's graceful stop open
      // Stop accepting, let in-flight requests finish, then force-close what is left.
      await Promise.race([app.server?.stop(false), Bun.sleep(config.SHUTDOWN_TIMEOUT_MS)])
      await app.server?.stop(true)
    })
  }
}

main().catch(async (err) => {
  if (stopping) return // a boot step failed because shutdown stopped what it needed; shutdown exits 0
  logger.fatal({ err }, 'boot failed')
  await stopEmbedded()
  process.exit(1)
})
