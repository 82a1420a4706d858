// Zero-infra start: when DATABASE_URL is unset, run a real embedded PostgreSQL with its data under
// DATA_DIR (kept across restarts, see embedded-pg.ts); when REDIS_URL is unset, run this checkout's
// own redis-server from PATH (shared by its processes, like the cluster), else use 127.0.0.1:6379
// under a key prefix of this data dir, else run degraded. Resolved values are written into config.
import { createHash } from 'node:crypto'
import { mkdirSync, realpathSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { config } from '../config'
import { startEmbeddedPostgres } from './embedded-pg'
import { alive, freePortFrom, onStop, readJson, runs, tcpReachable, waitGone, writePrivate } from './local-procs'
import { logger } from './logger'

export { startEmbeddedPostgres } from './embedded-pg'
export { reopenEmbedded, stopEmbedded, tcpReachable } from './local-procs'

type RedisState = { pid: number; port: number; owner: number }

/** Finds or starts a Redis; null when none can be had (the app then runs degraded). */
export async function findOrStartRedis(dataDir = resolve(config.DATA_DIR)): Promise<string | null> {
  const bin = Bun.which('redis-server')
  if (bin) return startLocalRedis(bin, dataDir)
  if (await tcpReachable('127.0.0.1', 6379)) return 'redis://127.0.0.1:6379'
  return null
}

async function startLocalRedis(bin: string, dataDir: string): Promise<string | null> {
  mkdirSync(dataDir, { recursive: true })
  const stateFile = join(dataDir, 'redis.json')
  const state = readJson<RedisState>(stateFile)
  if (state && runs(state.pid, 'redis-server') && (await tcpReachable('127.0.0.1', state.port))) {
    if (state.owner !== process.pid && alive(state.owner)) {
      logger.info(
        { port: state.port, owner: state.owner },
        'local redis-server already running (shared with another process of this checkout)',
      )
    } else {
      writePrivate(stateFile, JSON.stringify({ ...state, owner: process.pid }))
      onStop(async () => {
        process.kill(state.pid, 'SIGTERM')
        await waitGone(state.pid, 10000)
      })
    }
    return `redis://127.0.0.1:${state.port}`
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePortFrom(6380 + attempt * 50)
    let proc: Bun.Subprocess | undefined
    onStop(async () => {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
      proc.kill('SIGTERM')
      await proc.exited
    })
    // Own session (detached), like Postgres: stopped by this process after the API has drained.
    proc = Bun.spawn(
      [bin, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
      { stdio: ['ignore', 'ignore', 'ignore'], cwd: dataDir, detached: true },
    )
    for (let i = 0; i < 100 && proc.exitCode === null; i++) {
      if (await servedBy('127.0.0.1', port, proc.pid)) {
        writePrivate(stateFile, JSON.stringify({ pid: proc.pid, port, owner: process.pid } satisfies RedisState))
        return `redis://127.0.0.1:${port}`
      }
      await Bun.sleep(50)
    }
    proc.kill('SIGKILL') // lost the port to another program, or never came up
    await proc.exited
  }
  return null
}

/** Whether the Redis on `port` is process `pid` (not another checkout's that won the port). */
async function servedBy(host: string, port: number, pid: number): Promise<boolean> {
  if (!(await tcpReachable(host, port))) return false
  const { default: Redis } = await import('ioredis')
  const client = new Redis({ host, port, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null })
  try {
    await client.connect()
    return new RegExp(`^process_id:${pid}\\r?$`, 'm').test(await client.info('server'))
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

/** Resolves DATABASE_URL / REDIS_URL into config; returns whether a demo seed is wanted. */
export async function resolveInfra(): Promise<{ seedDemo: boolean }> {
  let seedDemo = false
  if (!config.DATABASE_URL) {
    const { url, fresh } = await startEmbeddedPostgres()
    config.DATABASE_URL = url
    // The demo seed runs only on an empty database (checked under a lock), so a seed cut off by a
    // stop, or a database created again, is seeded on the next start.
    seedDemo = config.SEED_DEMO
    logger.info({ url: url.replace(/:[^:@/]*@/, ':***@'), fresh }, 'using embedded PostgreSQL')
  }
  if (!config.REDIS_URL) {
    const url = await findOrStartRedis()
    config.REDIS_URL = url ?? 'none'
    if (url === 'redis://127.0.0.1:6379' && config.REDIS_PREFIX === 'stampede') {
      // A Redis other checkouts may use too: keys and queues of this data dir only.
      const dir = resolve(config.DATA_DIR)
      mkdirSync(dir, { recursive: true })
      config.REDIS_PREFIX = `stampede-${createHash('sha256').update(realpathSync(dir)).digest('hex').slice(0, 8)}`
    }
    if (url) logger.info({ url, prefix: config.REDIS_PREFIX }, 'using local Redis')
  }
  if (config.REDIS_URL === 'none') {
    logger.warn('no Redis: running degraded (cache bypassed, rate limits in-process, background jobs off)')
  }
  return { seedDemo }
}
