// The live feed's bus across instances. publishLive() numbers a message (INCR), appends it to a
// bounded Redis Stream (the replay log for ?since=, id = `<seq>-0`, MAXLEN ~LIVE_STREAM_MAXLEN) and
// PUBLISHes it, in one Lua call so sequence order = stream order = publish order. Every API process
// keeps one subscriber connection and fans messages out to its own WebSocket clients.
import type Redis from 'ioredis'
import { config } from '../../config'
import { logger } from '../../infra/logger'
import { counter } from '../../infra/metrics'
import { createRedis, key, redisUrl, withRedis } from '../../infra/redis'

/** Every message type of the admin feed (the contract) plus the feed's own bookkeeping. */
export const LIVE_TYPES = [
  'order.created',
  'order.paid',
  'order.cancelled',
  'stock.changed',
  'stock.low',
  'alert.created',
  'sale.status',
  'metrics.tick',
] as const
export type LiveType = (typeof LIVE_TYPES)[number]
export type LiveMessage = { seq: number; type: string; at: string; data: Record<string, unknown> }

const published = counter('live_messages_published_total', 'Messages published to the live feed', ['type'])

const PUBLISH = `
local seq = redis.call('INCR', KEYS[1])
local msg = '{"seq":' .. seq .. ',' .. ARGV[1]
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-0', 'm', msg)
redis.call('PUBLISH', KEYS[3], msg)
return seq`

export const liveKeys = {
  seq: () => key('live', 'seq'),
  stream: () => key('live', 'stream'),
  channel: () => key('live', 'events'),
  sales: () => key('live', 'sales'),
  sale: (id: string) => key('live', 'sale', id),
  ticket: (t: string) => key('live', 'ticket', t),
  tickLeader: () => key('live', 'tick'),
  stats: () => key('live', 'stats'),
}

/**
 * Publishes one message to every admin live client of every instance. Resolves with its sequence
 * number, or null when Redis is unavailable (the feed is best-effort; the figures are not).
 */
export async function publishLive(type: LiveType, data: Record<string, unknown>): Promise<number | null> {
  const body = JSON.stringify({ type, at: new Date().toISOString(), data }).slice(1)
  const seq = await withRedis<number | null>(
    async (r) =>
      Number(await r.eval(PUBLISH, 3, liveKeys.seq(), liveKeys.stream(), liveKeys.channel(), body, String(config.LIVE_STREAM_MAXLEN))),
    () => null,
  )
  if (seq !== null) published.inc({ type })
  return seq
}

/** Messages after `since` from the replay log, oldest first; `gap` when some were already trimmed. */
export async function replaySince(since: number, max = config.LIVE_STREAM_MAXLEN): Promise<{ messages: LiveMessage[]; gap: boolean }> {
  return withRedis(
    async (r) => {
      const entries = (await r.xrange(liveKeys.stream(), `${since + 1}-0`, '+', 'COUNT', max)) as [string, string[]][]
      const messages = entries.map(([, fields]) => JSON.parse(fields[1] as string) as LiveMessage)
      const first = messages[0]?.seq
      let gap = first !== undefined && first > since + 1
      if (first === undefined) {
        // Nothing newer in the log: a gap only if the counter moved past `since` (entries trimmed).
        const seq = Number((await r.get(liveKeys.seq())) ?? 0)
        gap = seq > since
      }
      return { messages, gap }
    },
    () => ({ messages: [], gap: true }),
  )
}

/** The last sequence number handed out (0 when nothing was published yet). */
export async function currentSeq(): Promise<number> {
  return withRedis(
    async (r) => Number((await r.get(liveKeys.seq())) ?? 0),
    () => 0,
  )
}

type Listener = (channel: 'events' | 'sales', raw: string) => void
const listeners = new Set<Listener>()
let subscriber: Redis | null = null
let subscribed: Promise<void> | null = null

/** Receives every bus message in this process; resolves once the subscription is live. */
export function onBus(listener: Listener): Promise<void> {
  listeners.add(listener)
  if (!subscribed && redisUrl()) {
    const sub = createRedis('subscriber')
    subscriber = sub
    const events = liveKeys.channel()
    sub.on('message', (channel: string, raw: string) => {
      const which = channel === events ? 'events' : 'sales'
      for (const l of listeners) {
        try {
          l(which, raw)
        } catch (err) {
          logger.warn({ err: (err as Error).message }, 'live listener failed')
        }
      }
    })
    subscribed = sub.subscribe(events, liveKeys.sales()).then(() => {})
  }
  return subscribed ?? Promise.resolve()
}

export async function closeBus(): Promise<void> {
  listeners.clear()
  const sub = subscriber
  subscriber = null
  subscribed = null
  if (sub) await sub.quit().catch(() => sub.disconnect())
}
