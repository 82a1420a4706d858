// Public per-sale live status: GET /api/v1/sales/:id/live. The sales module (an orchestrator) calls
// publishSaleStatus() whenever a sale's status or remaining units change — possibly thousands of
// times a second during a drop. Each instance keeps only the LATEST state per sale and sends it to
// that sale's watchers at most every SALE_MIN_GAP_MS (≤ 4 messages/s), first change immediately;
// so the crowd watches instead of polling, and a burst of changes costs one message per interval.
import { logger } from '../../infra/logger'
import { withRedis } from '../../infra/redis'
import { liveKeys, onBus, publishLive } from './bus'
import { type Socket, sendBounded } from './feed'

export const SALE_MIN_GAP_MS = 250
const STATE_TTL_SECONDS = 7 * 86400

export type SaleStatus = { status: string; remaining: number } & Record<string, unknown>
type SaleMessage = { seq: number; type: 'sale.status'; at: string; data: SaleStatus & { saleId: string } }

const SET_AND_PUBLISH = `
local seq = redis.call('INCR', KEYS[2])
local msg = '{"seq":' .. seq .. ',' .. ARGV[1]
redis.call('SET', KEYS[1], msg, 'EX', ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('PUBLISH', KEYS[3], msg)
return seq`

const adminLast = new Map<string, number>()
const adminPending = new Map<string, SaleStatus>()

/**
 * The sales module's hook: records the sale's current status (for late joiners), fans it out to
 * the sale's public watchers on every instance, and to the admin feed as `sale.status`
 * (throttled per sale in this process the same way). Best-effort: resolves null without Redis.
 */
export async function publishSaleStatus(saleId: string, state: SaleStatus): Promise<number | null> {
  const body = JSON.stringify({ type: 'sale.status', at: new Date().toISOString(), data: { saleId, ...state } }).slice(1)
  const seq = await withRedis<number | null>(
    async (r) =>
      Number(
        await r.eval(
          SET_AND_PUBLISH,
          3,
          liveKeys.sale(saleId),
          `${liveKeys.sale(saleId)}:seq`,
          liveKeys.sales(),
          body,
          String(STATE_TTL_SECONDS),
        ),
      ),
    () => null,
  )
  throttleAdmin(saleId, state)
  return seq
}

function throttleAdmin(saleId: string, state: SaleStatus): void {
  const wait = (adminLast.get(saleId) ?? 0) + SALE_MIN_GAP_MS - Date.now()
  const pending = adminPending.has(saleId)
  adminPending.set(saleId, state)
  if (pending) return
  const flush = () => {
    const s = adminPending.get(saleId)
    adminPending.delete(saleId)
    adminLast.set(saleId, Date.now())
    if (s) void publishLive('sale.status', { saleId, ...s })
    if (adminLast.size > 10_000) adminLast.clear() // old sales: forgetting only drops a throttle
  }
  if (wait <= 0) flush()
  else setTimeout(flush, wait)
}

type Watchers = { sockets: Set<Socket>; latest: string | null; latestSeq: number; sentSeq: number; lastSent: number; timer: Timer | null }
const watchers = new Map<string, Watchers>()

function flushSale(id: string, w: Watchers): void {
  w.timer = null
  if (!w.latest || w.latestSeq <= w.sentSeq) return
  w.sentSeq = w.latestSeq
  w.lastSent = Date.now()
  for (const ws of w.sockets) if (!sendBounded(ws, w.latest, 'sale')) w.sockets.delete(ws)
  if (w.sockets.size === 0) watchers.delete(id)
}

function onSaleMessage(raw: string): void {
  const m = JSON.parse(raw) as SaleMessage
  const w = watchers.get(m.data.saleId)
  if (!w || m.seq <= w.latestSeq) return
  w.latest = raw
  w.latestSeq = m.seq
  if (w.timer) return
  const wait = w.lastSent + SALE_MIN_GAP_MS - Date.now()
  if (wait <= 0) flushSale(m.data.saleId, w)
  else w.timer = setTimeout(() => flushSale(m.data.saleId, w), wait)
}

let listening: Promise<void> | null = null

/** A new watcher of `saleId`: gets the current status at once (if any), then coalesced updates. */
export async function watchSale(ws: Socket, saleId: string): Promise<void> {
  listening ??= onBus((channel, raw) => {
    if (channel === 'sales' && watchers.size > 0) onSaleMessage(raw)
  })
  await listening
  let w = watchers.get(saleId)
  if (!w) {
    w = { sockets: new Set(), latest: null, latestSeq: 0, sentSeq: 0, lastSent: 0, timer: null }
    watchers.set(saleId, w)
  }
  w.sockets.add(ws)
  const current = await withRedis(
    (r) => r.get(liveKeys.sale(saleId)),
    () => null,
  )
  if (current) {
    const seq = (JSON.parse(current) as SaleMessage).seq
    if (seq > w.latestSeq) {
      w.latest = current
      w.latestSeq = seq
    }
  }
  // The newcomer gets the latest state now, whatever the others' throttle says.
  if (w.latest) sendBounded(ws, w.latest, 'sale')
  else
    ws.send(
      JSON.stringify({ seq: 0, type: 'sale.status', at: new Date().toISOString(), data: { saleId, status: 'unknown', remaining: null } }),
    )
}

export function unwatchSale(ws: Socket, saleId: string): void {
  const w = watchers.get(saleId)
  if (!w) return
  w.sockets.delete(ws)
  if (w.sockets.size === 0) {
    if (w.timer) clearTimeout(w.timer)
    watchers.delete(saleId)
  }
}

export function closeAllWatchers(): void {
  for (const w of watchers.values()) {
    if (w.timer) clearTimeout(w.timer)
    for (const ws of w.sockets) {
      try {
        ws.close(1001, 'server shutting down')
      } catch (err) {
        logger.debug({ err: (err as Error).message }, 'sale watcher close failed')
      }
    }
  }
  watchers.clear()
}
