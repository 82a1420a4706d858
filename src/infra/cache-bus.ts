// Cross-instance invalidation for in-process caches (src/lib/near-cache.ts) over Redis pub/sub,
// acknowledged, so that a write returns only after every live instance has dropped the old value:
// "a read after a write never sees the old value" holds across instances, not just in the writer.
//
// The writer PUBLISHes `${origin} ${seq}\n${key}\n…` to key('cache', 'inv') inside the MULTI that
// bumps the keys' generations; PUBLISH answers how many processes received it. Every subscriber
// (the writer's own included) drops the keys, then publishes `${seq}` to key('cache', 'ack',
// origin). The writer waits for that many acks, at most ACK_TIMEOUT_MS: a process too busy to
// answer in time is counted (cache_invalidation_ack_timeouts_total) and the write goes on.
//
// Near caches are enabled only while this process is subscribed; on any disconnect they are
// cleared and disabled (messages sent meanwhile are lost), and re-enabled after resubscribing.
import type Redis from 'ioredis'
import type { NearCache } from '../lib/near-cache'
import { logger } from './logger'
import { counter } from './metrics'
import { createRedis, key, redisUrl, withRedis } from './redis'

const ACK_TIMEOUT_MS = 250

const ackTimeouts = counter(
  'cache_invalidation_ack_timeouts_total',
  'Invalidations that went on before every instance acknowledged them (a process was too slow)',
)

const origin = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`
const caches = new Set<NearCache<unknown>>()
type Pending = { got: number; need: number; done: () => void }
const pending = new Map<number, Pending>()
let seq = 0
let subscriber: Redis | null = null
let subscribed = false
const waiters = new Set<() => void>()

export const invalidationChannel = (): string => key('cache', 'inv')
const ackChannel = (of: string): string => key('cache', 'ack', of)

function setAll(on: boolean): void {
  subscribed = on
  for (const c of caches) c.setEnabled(on)
  if (on) for (const w of [...waiters]) w()
}

/** Resolves true once this process listens to invalidations, false if it does not within `ms`. */
export function whenSubscribed(ms: number): Promise<boolean> {
  if (subscribed || ms <= 0) return Promise.resolve(subscribed)
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      waiters.delete(done)
      resolve(subscribed)
    }
    const timer = setTimeout(done, ms)
    waiters.add(done)
  })
}

function onMessage(channel: string, message: string): void {
  if (channel === invalidationChannel()) {
    const lines = message.split('\n')
    const [from, n] = (lines[0] ?? '').split(' ')
    for (const c of caches) c.drop(lines.slice(1))
    if (from)
      void withRedis(
        (r) => r.publish(ackChannel(from), n ?? ''),
        () => 0,
      )
    return
  }
  const waiting = pending.get(Number(message))
  if (waiting && ++waiting.got >= waiting.need) waiting.done()
}

function start(): void {
  if (subscriber || !redisUrl()) return
  const sub = createRedis('subscriber')
  subscriber = sub
  // Subscriptions are renewed by hand on every (re)connect so the caches come back on only after
  // the subscription is really in place.
  sub.options.autoResubscribe = false
  sub.on('message', onMessage)
  sub.on('ready', () => {
    sub.subscribe(invalidationChannel(), ackChannel(origin)).then(
      () => setAll(true),
      (err) => logger.warn({ err: err.message }, 'cache invalidation bus: subscribe failed'),
    )
  })
  sub.on('close', () => {
    if (subscribed) logger.warn('cache invalidation bus disconnected: in-process caches off until it is back')
    setAll(false)
  })
}

/** Registers a near cache; it turns on once this process listens to invalidations. */
export function attachNearCache(cache: NearCache<unknown>): void {
  caches.add(cache)
  cache.setEnabled(subscribed)
  start()
}

/**
 * The message for `keys`. Acks are counted from now on (a fast instance may answer before the
 * MULTI's reply is back); `awaitAcks(receivers)` then waits for the rest, `cancel()` if not sent.
 */
export function invalidationMessage(keys: string[]): {
  message: string
  awaitAcks: (receivers: number) => Promise<void>
  cancel: () => void
} {
  const n = ++seq
  const entry: Pending = { got: 0, need: Number.POSITIVE_INFINITY, done: () => {} }
  pending.set(n, entry)
  return {
    message: `${origin} ${n}\n${keys.join('\n')}`,
    cancel: () => pending.delete(n),
    awaitAcks: (receivers) =>
      new Promise<void>((resolve) => {
        // Acks come back over our own subscription: without it there is nothing to wait for.
        if (!subscribed) {
          pending.delete(n)
          return resolve()
        }
        const timer = setTimeout(() => {
          pending.delete(n)
          ackTimeouts.inc()
          logger.warn({ receivers, acked: entry.got }, 'cache invalidation not acknowledged by every instance in time')
          resolve()
        }, ACK_TIMEOUT_MS)
        entry.done = () => {
          clearTimeout(timer)
          pending.delete(n)
          resolve()
        }
        entry.need = receivers
        if (entry.got >= entry.need) entry.done()
      }),
  }
}

export async function closeCacheBus(): Promise<void> {
  const sub = subscriber
  subscriber = null
  setAll(false)
  if (sub) await sub.quit().catch(() => sub.disconnect())
}

/**
 * Drops `keys` from the near caches of every instance (this one first) and waits for the acks, like
 * a cache-aside invalidation without Redis entries to delete: for in-process flags (a sale's local
 * sold-out flag) that must be cleared everywhere when units come back.
 */
export async function broadcastDrop(keys: string[]): Promise<void> {
  if (keys.length === 0) return
  for (const c of caches) c.drop(keys)
  const note = invalidationMessage(keys)
  await withRedis(
    async (r) => note.awaitAcks(Number(await r.publish(invalidationChannel(), note.message))),
    () => note.cancel(),
  )
}
