// The gate's Redis side that every operation shares: the client with its Lua commands, the key
// layout, the "counters may be gateState.stale" flag, and loading counters from Postgres (on a miss, after
// the database contradicted the gate, and the full reconcile). See gate.ts for the design.
import type Redis from 'ioredis'
import { sql } from '../../infra/db'
import { logger } from '../../infra/logger'
import { counter } from '../../infra/metrics'
import { key, redis, withRedis } from '../../infra/redis'
import { isUuid } from '../../lib/uuid'
import { ADJUST, GATE_TTL_SECONDS, LOAD, RELEASE, RETIRE, TAKE } from './gate-lua'

export const gateMetrics = {
  rejections: counter('inventory_gate_rejections_total', 'Reservations refused by the Redis gate without touching Postgres'),
  compensations: counter('inventory_gate_compensations_total', 'Gate decrements given back because the database step failed'),
  fallbacks: counter('inventory_gate_fallbacks_total', 'Gate operations skipped because Redis was unavailable', ['op']),
  reconcileFixes: counter('inventory_gate_reconcile_fixes_total', 'Gate counters corrected by reconciliation'),
  loads: counter('inventory_gate_loads_total', 'Gate counters loaded from Postgres on a miss'),
  reclaims: counter(
    'inventory_gate_lease_reclaims_total',
    'Units given back to the gate because their lease expired (holder died or was too slow)',
  ),
}

export type GateRedis = Redis & {
  gateTake(n: number, ...args: (string | number)[]): Promise<number[]>
  gateLoad(k: string, leases: string, value: number | '', gen: string, ttl: number, force: string): Promise<number>
  gateRelease(n: number, ...args: (string | number)[]): Promise<number>
  gateRetire(k: string): Promise<number>
  gateAdjust(n: number, ...args: (string | number)[]): Promise<number>
}

const defined = new WeakSet<Redis>()
export function gateClient(r: Redis): GateRedis {
  if (!defined.has(r)) {
    r.defineCommand('gateTake', { lua: TAKE })
    r.defineCommand('gateLoad', { numberOfKeys: 2, lua: LOAD })
    r.defineCommand('gateRelease', { lua: RELEASE })
    r.defineCommand('gateAdjust', { lua: ADJUST })
    r.defineCommand('gateRetire', { numberOfKeys: 1, lua: RETIRE })
    defined.add(r)
    // Changes made while Redis was unreachable never reached the counters: reconcile on return.
    r.on('ready', () => {
      if (gateState.stale) void reconcileGate().catch(() => {})
    })
  }
  return r as GateRedis
}

/**
 * `stale`: set when a gate operation had to be skipped; the next usable moment reconciles every
 * counter. `reconciling`: the reconcile in flight, which callers wait for.
 */
export const gateState: { stale: boolean; reconciling: Promise<number> | null } = { stale: false, reconciling: null }

export const gateKey = (productId: string) => key('gate', productId)
export const leaseKey = (productId: string) => key('gate-leases', productId)

const loadsInFlight = new Map<string, Promise<number>>()

/** loadGate with in-process single-flight per product set (a sale's first burst loads once). */
export function loadGateOnce(g: GateRedis, productIds: string[]): Promise<number> {
  const id = productIds.join(',')
  let p = loadsInFlight.get(id)
  if (!p) {
    p = loadGate(g, productIds).finally(() => loadsInFlight.delete(id))
    loadsInFlight.set(id, p)
  }
  return p
}

export async function loadGate(g: GateRedis, productIds: string[], force = false): Promise<number> {
  const gens = await Promise.all(productIds.map((id) => g.hget(gateKey(id), 'g')))
  const rows = await sql<{ productId: string; a: number }[]>`
    select i.product_id as "productId", i.on_hand - i.reserved as a
    from inventory i join products p on p.id = i.product_id and p.deleted_at is null
    where i.product_id in ${sql(productIds)}`
  const avail = new Map(rows.map((r) => [r.productId, Number(r.a)]))
  let corrected = 0
  await Promise.all(
    productIds.map(async (id, i) => {
      // Unknown or deleted products are marked "not sold" (''), so the gate never answers for them.
      const value = avail.get(id)
      const res = await g.gateLoad(gateKey(id), leaseKey(id), value ?? '', gens[i] ?? '0', GATE_TTL_SECONDS, force ? '1' : '0')
      if (res === 1) gateMetrics.loads.inc()
      if (res === 2) corrected++
    }),
  )
  return corrected
}

/** Fix drift between Redis gate counters and Postgres; returns how many counters were corrected. */
export function reconcileGate(): Promise<number> {
  gateState.reconciling ??= (async () => {
    const r = redis()
    if (!r) return 0
    const g = gateClient(r)
    const wasStale = gateState.stale
    gateState.stale = false
    let fixed = 0
    try {
      const prefix = gateKey('')
      let cursor = '0'
      do {
        const [next, keys] = await g.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500)
        cursor = next
        const ids = keys.map((k) => k.slice(prefix.length)).filter(isUuid)
        if (ids.length) fixed += await loadGate(g, ids, true)
      } while (cursor !== '0')
    } catch (err) {
      gateState.stale = gateState.stale || wasStale
      logger.warn({ err: (err as Error).message }, 'gate reconcile failed')
      throw err
    }
    if (fixed) gateMetrics.reconcileFixes.inc(fixed)
    return fixed
  })().finally(() => {
    gateState.reconciling = null
  })
  return gateState.reconciling
}

/** A product was deleted: the gate stops vouching for it (the full path answers 422 from now on). */
export async function gateRetire(productId: string): Promise<void> {
  await withRedis(
    async (r) => {
      await gateClient(r).gateRetire(gateKey(productId))
    },
    () => {
      if (redis()) gateState.stale = true
    },
  )
}

/** Reloads the named counters from Postgres (after the database contradicted the gate). */
export async function gateRefresh(productIds: string[]): Promise<void> {
  if (productIds.length === 0) return
  await withRedis(
    async (r) => {
      await loadGate(gateClient(r), productIds, true)
    },
    () => {
      gateState.stale = true
    },
  )
}
