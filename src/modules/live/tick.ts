// The admin feed's metrics tick, every LIVE_TICK_MS (1–2 s): orders/min and revenue/min (orders
// placed in the last 60 s, from the analytics facts), sold-out rejections/s and the p99 request
// time of the last interval — across ALL instances: each instance writes its interval's counts
// (gate rejections, request-duration bucket deltas) to a Redis hash, and one elected instance (SET
// NX PX lease) sums them and publishes the tick through the sequenced bus.
import { sql } from '../../infra/db'
import { logger } from '../../infra/logger'
import { httpDuration, registry } from '../../infra/metrics'
import { withRedis } from '../../infra/redis'
import { liveKeys, publishLive } from './bus'

const INSTANCE = `${process.pid}-${Bun.randomUUIDv7().slice(-8)}`
type Snapshot = { rejections: number; buckets: number[]; les: number[] }
type Report = { at: number; rejections: number; buckets: number[]; les: number[] }

async function snapshot(): Promise<Snapshot> {
  const h = await httpDuration.get()
  const byLe = new Map<number, number>()
  for (const v of h.values) {
    if (v.metricName !== 'http_request_duration_seconds_bucket') continue
    const raw = (v.labels as Record<string, string | number | undefined>).le
    const le = raw === '+Inf' ? Number.POSITIVE_INFINITY : Number(raw)
    byLe.set(le, (byLe.get(le) ?? 0) + v.value)
  }
  const les = [...byLe.keys()].sort((a, b) => a - b)
  const rej = registry.getSingleMetric('inventory_gate_rejections_total')
  const rejections = rej ? ((await rej.get()).values[0]?.value ?? 0) : 0
  return { rejections, buckets: les.map((le) => byLe.get(le) ?? 0), les }
}

/** p99 (ms) from cumulative bucket counts: the upper bound of the bucket holding the 99th percentile. */
export function p99FromBuckets(les: number[], cumulative: number[]): number | null {
  const total = cumulative[cumulative.length - 1] ?? 0
  if (total === 0) return null
  const target = total * 0.99
  for (let i = 0; i < les.length; i++) {
    if ((cumulative[i] ?? 0) >= target) {
      const le = les[i] as number
      return Number.isFinite(le) ? le * 1000 : ((les[i - 1] ?? 0) as number) * 1000
    }
  }
  return null
}

const LEASE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`

export function startTicks(intervalMs: number): () => void {
  let prev: Snapshot | null = null
  let running = false
  const tick = async () => {
    if (running) return
    running = true
    try {
      const now = await snapshot()
      const base =
        prev && prev.les.length === now.les.length ? prev : { ...now, rejections: now.rejections, buckets: now.buckets.map(() => 0) }
      prev = now
      const report: Report = {
        at: Date.now(),
        rejections: Math.max(0, now.rejections - base.rejections),
        buckets: now.buckets.map((b, i) => Math.max(0, b - (base.buckets[i] ?? 0))),
        les: now.les.map((le) => (Number.isFinite(le) ? le : -1)),
      }
      const leader = await withRedis(
        async (r) => {
          await r.hset(liveKeys.stats(), INSTANCE, JSON.stringify(report))
          return Number(await r.eval(LEASE, 1, liveKeys.tickLeader(), INSTANCE, String(Math.round(intervalMs * 2.5))))
        },
        () => 0,
      )
      if (leader === 1) await publishTick(intervalMs)
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'live metrics tick failed')
    } finally {
      running = false
    }
  }
  const timer = setInterval(() => void tick(), intervalMs)
  return () => {
    clearInterval(timer)
    void withRedis(
      (r) => r.hdel(liveKeys.stats(), INSTANCE),
      () => 0,
    )
  }
}

async function publishTick(intervalMs: number): Promise<void> {
  const all = await withRedis(
    (r) => r.hgetall(liveKeys.stats()),
    () => ({}) as Record<string, string>,
  )
  const fresh: Report[] = []
  const stale: string[] = []
  for (const [id, raw] of Object.entries(all)) {
    const rep = JSON.parse(raw) as Report
    if (Date.now() - rep.at <= intervalMs * 3) fresh.push(rep)
    else stale.push(id)
  }
  if (stale.length)
    await withRedis(
      (r) => r.hdel(liveKeys.stats(), ...stale),
      () => 0,
    )
  const les = fresh[0]?.les ?? []
  const summed = les.map((_, i) => fresh.reduce((s, r) => s + (r.les.length === les.length ? (r.buckets[i] ?? 0) : 0), 0))
  const [m] = await sql<{ orders: string; revenue: string }[]>`
    select count(*) as orders, coalesce(sum(revenue_cents) filter (where paid), 0) as revenue
    from analytics_order_facts where created_at >= now() - interval '1 minute'`
  const seconds = intervalMs / 1000
  await publishLive('metrics.tick', {
    intervalMs,
    instances: fresh.length,
    ordersPerMinute: Number(m?.orders ?? 0),
    revenuePerMinuteCents: Number(m?.revenue ?? 0),
    soldOutRejectionsPerSecond: Math.round((fresh.reduce((s, r) => s + r.rejections, 0) / seconds) * 100) / 100,
    requests: summed[summed.length - 1] ?? 0,
    p99Ms: p99FromBuckets(
      les.map((le) => (le < 0 ? Number.POSITIVE_INFINITY : le)),
      summed,
    ),
  })
}
