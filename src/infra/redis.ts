// Role-specific ioredis clients and the Redis circuit breaker. Redis is an accelerator here:
// callers pass a fallback, and a dead or missing Redis costs them microseconds, not a timeout.

import { BrokenCircuitError } from 'cockatiel'
import Redis, { type RedisOptions } from 'ioredis'
import { config } from '../config'
import { createCircuit } from '../lib/circuit-breaker'
import { OutageLog } from '../lib/outage-log'
import { logger } from './logger'

export type RedisRole = 'cache' | 'producer' | 'worker' | 'subscriber'

export function redisUrl(): string | null {
  const url = config.REDIS_URL
  return url && url !== 'none' ? url : null
}

/** Every key this app writes lives under the configured prefix (tests get their own). */
export const key = (...parts: (string | number)[]): string => `${config.REDIS_PREFIX}:${parts.join(':')}`

/** One per process: every Redis client (and BullMQ's error events) reports into it. */
export const redisOutage = new OutageLog('redis', logger)

export function createRedis(role: RedisRole, url = redisUrl()): Redis {
  if (!url) throw new Error('Redis is not configured')
  const opts: RedisOptions = {
    connectionName: `stampede-${role}-${process.pid}`,
    lazyConnect: false,
    connectTimeout: 2000,
    // Reconnect forever with a capped backoff; the breaker decides whether callers wait.
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  }
  if (role === 'worker' || role === 'subscriber') {
    // BullMQ workers block on Redis and must never give up a command.
    Object.assign(opts, { maxRetriesPerRequest: null, enableOfflineQueue: true })
  } else {
    // HTTP-path clients fail fast when Redis is down instead of queueing commands.
    Object.assign(opts, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 1000 })
  }
  const client = new Redis(url, opts)
  client.on('error', (err) => redisOutage.failed(role, err))
  client.on('ready', () => redisOutage.ok())
  return client
}

export const redisBreaker = createCircuit(3, 1000, (state) => logger.warn({ state }, `redis circuit ${state}`))

let shared: Redis | null = null
let firstReady: Promise<void> | null = null

/** The shared fail-fast client for cache, rate limits, carts and the inventory gate. */
export function redis(): Redis | null {
  if (!shared && redisUrl()) {
    const client = createRedis('cache')
    shared = client
    // Until the first connection is up, callers wait for it (bounded) instead of falling back;
    // after that a disconnected Redis fails fast.
    firstReady = new Promise<void>((ok) => {
      const timer = setTimeout(ok, 1000)
      client.once('ready', () => ok(clearTimeout(timer)))
    }).then(() => {
      firstReady = null
    })
  }
  return shared
}

/** True when a Redis command may be attempted right now without waiting. */
export function redisUsable(): boolean {
  const r = redis()
  return !!r && r.status === 'ready' && redisBreaker.usable()
}

/**
 * Runs `fn` against Redis, or returns `fallback()` when Redis is missing, the circuit is open,
 * or the command fails. The failure is recorded so repeated failures open the circuit.
 */
export async function withRedis<T>(fn: (r: Redis) => Promise<T>, fallback: () => T | Promise<T>): Promise<T> {
  const r = redis()
  if (firstReady) await firstReady
  if (r?.status !== 'ready') return fallback()
  try {
    return await redisBreaker.execute(() => fn(r))
  } catch (err) {
    // BrokenCircuitError: the circuit is open, fn did not run (no wait, no timeout).
    if (!(err instanceof BrokenCircuitError)) logger.debug({ err: (err as Error).message }, 'redis command failed; using fallback')
    return fallback()
  }
}

export async function pingRedis(): Promise<'ok' | 'down' | 'disabled'> {
  const r = redis()
  if (!r) return 'disabled'
  if (firstReady) await firstReady
  try {
    await r.ping()
    return 'ok'
  } catch {
    return 'down'
  }
}

export async function closeRedis(): Promise<void> {
  if (shared) {
    await shared.quit().catch(() => shared?.disconnect())
    shared = null
  }
}

/** Deletes every key under `prefix` with a throwaway client (test and benchmark cleanup). */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { maxRetriesPerRequest: 1 })
  try {
    await deleteByPrefix(r, prefix)
  } catch {
    // best effort: a run that cannot reach Redis left nothing there either
  } finally {
    r.disconnect()
  }
}

/** Deletes every key under a prefix (tests' cleanup; never used on someone else's prefix). */
export async function deleteByPrefix(client: Redis, prefix: string): Promise<number> {
  let cursor = '0'
  let n = 0
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
    cursor = next
    if (keys.length) n += await client.unlink(...keys)
  } while (cursor !== '0')
  return n
}
