// Admin live feed, per process: the WebSocket clients of this instance, the replay on connect, the
// bounded send, heartbeats, and the metrics tick. Tickets: single-use, LIVE_TICKET_TTL_SECONDS,
// stored in Redis (GETDEL on upgrade), so a long-lived token never appears in a URL or a log.
import { config } from '../../config'
import { logger } from '../../infra/logger'
import { counter, gauge, histogram } from '../../infra/metrics'
import { withRedis } from '../../infra/redis'
import { UnauthorizedError } from '../../lib/errors'
import { currentSeq, type LiveMessage, liveKeys, onBus, replaySince } from './bus'

/** What the feed needs of a socket: Bun's ServerWebSocket (ElysiaWS.raw, stable across callbacks). */
export type Socket = {
  send(data: string): number
  close(code?: number, reason?: string): void
  getBufferedAmount(): number
  subscribe(topic: string): void
}
/** Bun's server: publish() hands one message to every subscribed socket in native code. */
export type Publisher = { publish(topic: string, data: string): number }
const TOPIC = 'live:admin'
let publisher: Publisher | null = null
let lastSeen = 0

/** Publish (the message's `at`) → handed to every local socket: the server's share of the delivery time. */
const fanout = histogram(
  'live_fanout_seconds',
  'From publication to the last local send of an admin live message',
  [],
  [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
)
const fanoutPath = counter('live_fanout_total', 'Admin live messages fanned out, by path (native publish or per-socket sends)', ['path'])
const dropped = counter('live_clients_dropped_total', 'Live WebSocket clients closed for falling behind', ['feed'])

export async function issueTicket(userId: string): Promise<string> {
  const ticket = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64url')
  const ok = await withRedis(
    (r) => r.set(liveKeys.ticket(ticket), userId, 'EX', config.LIVE_TICKET_TTL_SECONDS),
    () => null,
  )
  if (ok !== 'OK') throw new UnauthorizedError('Live tickets are unavailable (Redis down)', 'live_unavailable')
  return ticket
}

/** The ticket's admin, consuming the ticket; 401 when missing, unknown, used or expired. */
export async function redeemTicket(ticket: string | undefined): Promise<string> {
  if (!ticket || !/^[A-Za-z0-9_-]{32}$/.test(ticket))
    throw new UnauthorizedError('A live ticket is required (POST /api/v1/admin/live/ticket)', 'invalid_ticket')
  const userId = await withRedis(
    (r) => r.getdel(liveKeys.ticket(ticket)),
    () => null,
  )
  if (!userId) throw new UnauthorizedError('The live ticket is unknown, used or expired', 'invalid_ticket')
  return userId
}

type Client = { ws: Socket; lastSeq: number; replaying: LiveMessage[] | null; subscribed: boolean }
const clients = new Set<Client>()
gauge('live_clients', 'Open WebSocket clients of the live feeds on this instance', ['feed'], function () {
  this.set({ feed: 'admin' }, clients.size)
})

/** Sends unless the client's unsent backlog is past the bound; a client that far behind is dropped. */
export function sendBounded(ws: Socket, text: string, feed: string): boolean {
  if (ws.getBufferedAmount() > config.LIVE_CLIENT_BUFFER_BYTES) {
    dropped.inc({ feed })
    ws.close(1013, 'too slow: reconnect with ?since=')
    return false
  }
  return ws.send(text) !== 0
}

function deliver(c: Client, m: LiveMessage, raw: string): void {
  if (c.replaying) {
    c.replaying.push(m)
    return
  }
  if (c.subscribed) return // the server's publish() reached it
  if (m.seq <= c.lastSeq) return
  c.lastSeq = m.seq
  if (!sendBounded(c.ws, raw, 'admin')) clients.delete(c)
}

let listening: Promise<void> | null = null
function listen(): Promise<void> {
  listening ??= onBus((channel, raw) => {
    if (channel !== 'events' || clients.size === 0) return
    const m = JSON.parse(raw) as LiveMessage
    lastSeen = Math.max(lastSeen, m.seq)
    // Per client only for those still replaying (queued) or without a publisher; everyone else is
    // one native publish(): at 500 sockets per instance the JS loop of sends was the fan-out cost.
    for (const c of clients) deliver(c, m, raw)
    publisher?.publish(TOPIC, raw)
    fanoutPath.inc({ path: publisher ? 'publish' : 'send' })
    fanout.observe(Math.max(0, Date.now() - Date.parse(m.at)) / 1000)
  })
  return listening
}

/**
 * A new client: subscribe first, then replay what it missed after `since` (or nothing: a fresh
 * client starts at the current sequence), then what arrived meanwhile — each message once, in order.
 */
export async function openClient(ws: Socket, since: number | undefined): Promise<Client> {
  await listen()
  const c: Client = { ws, lastSeq: 0, replaying: [], subscribed: false }
  clients.add(c)
  try {
    if (since === undefined) {
      c.lastSeq = await currentSeq()
      ws.send(JSON.stringify({ seq: c.lastSeq, type: 'hello', at: new Date().toISOString(), data: { replayed: 0 } }))
    } else {
      c.lastSeq = since
      const { messages, gap } = await replaySince(since)
      ws.send(JSON.stringify({ seq: since, type: 'hello', at: new Date().toISOString(), data: { replayed: messages.length, gap } }))
      for (const m of messages) {
        if (m.seq <= c.lastSeq) continue
        c.lastSeq = m.seq
        if (!sendBounded(ws, JSON.stringify(m), 'admin')) {
          clients.delete(c)
          return c
        }
      }
    }
  } finally {
    const queued = c.replaying ?? []
    c.replaying = null
    for (const m of queued) deliver(c, m, JSON.stringify(m))
    // In the same tick as the flush: no bus message can fall between the two.
    if (publisher && clients.has(c)) {
      c.subscribed = true
      ws.subscribe(TOPIC)
    }
  }
  return c
}

export function closeClient(ws: Socket): void {
  for (const c of clients) if (c.ws === ws) clients.delete(c)
}

/** Application-level heartbeat (browsers cannot see WebSocket pings): `seq` = the last one seen. */
function heartbeat(): void {
  const at = new Date().toISOString()
  publisher?.publish(TOPIC, JSON.stringify({ seq: lastSeen, type: 'heartbeat', at, data: {} }))
  for (const c of clients) {
    if (c.replaying || c.subscribed) continue
    if (!sendBounded(c.ws, JSON.stringify({ seq: c.lastSeq, type: 'heartbeat', at, data: {} }), 'admin')) clients.delete(c)
  }
}

/** Closes every client (shutdown); they reconnect elsewhere with ?since=. */
export function closeAllClients(): void {
  for (const c of clients) {
    try {
      c.ws.close(1001, 'server shutting down')
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'live client close failed')
    }
  }
  clients.clear()
}

/** The listening server (src/index.ts, after listen): fan-out then goes through its publish(). */
export function setPublisher(server: Publisher | null): void {
  publisher = server
}

export function startHeartbeats(): () => void {
  const timer = setInterval(heartbeat, config.LIVE_HEARTBEAT_MS)
  return () => clearInterval(timer)
}
