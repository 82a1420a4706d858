// The Redis gate: a live `available` counter per product, so a sold-out flash sale is answered by
// one Lua call instead of a Postgres round trip. The gate is an accelerator, never the fence:
// every unit that passes it is still taken by a conditional UPDATE that Postgres checks. Drift is
// allowed only upwards (gate > truth costs a wasted DB attempt); downward drift (gate < truth
// would refuse sellable stock) is prevented by a generation counter and healed by TTL/reconcile.
//
// Hash key('gate', productId): field `a` = available units (absent = not loaded), field `g` =
// generation, bumped by every Postgres change that *adds* availability (release, expiry, restock),
// so a loader that read Postgres before such a change can't install its stale value afterwards.
// Field `x` = the product is unknown or no longer sold: the gate does not vouch for it at all, so
// such orders get the full path's answer (422), never the checkout door's 409.
import type Redis from 'ioredis'
import { sql } from '../../infra/db'
import { logger } from '../../infra/logger'
import { counter } from '../../infra/metrics'
import { key, redis, redisUsable, withRedis } from '../../infra/redis'
import { coalesce } from '../../lib/coalesce'
import { isUuid } from '../../lib/uuid'

/** Loaded counters expire so that any drift we failed to see heals by itself. */
const GATE_TTL_SECONDS = 600

export const gateMetrics = {
  rejections: counter('inventory_gate_rejections_total', 'Reservations refused by the Redis gate without touching Postgres'),
  compensations: counter('inventory_gate_compensations_total', 'Gate decrements given back because the database step failed'),
  fallbacks: counter('inventory_gate_fallbacks_total', 'Gate operations skipped because Redis was unavailable', ['op']),
  reconcileFixes: counter('inventory_gate_reconcile_fixes_total', 'Gate counters corrected by reconciliation'),
  loads: counter('inventory_gate_loads_total', 'Gate counters loaded from Postgres on a miss'),
}

// Lua: the product of KEYS[1] is not sold; the gate drops its counter and stops vouching for it.
const MARK_NOT_SOLD = `
redis.call('HDEL', KEYS[1], 'a')
redis.call('HSET', KEYS[1], 'x', '1')
redis.call('EXPIRE', KEYS[1], ${GATE_TTL_SECONDS})`

// KEYS[1]; ARGV = value ('' = not sold), expected generation, ttl, force. Installs `a` only if no
// availability-adding change happened since the caller read the generation. Returns -1 stale,
// 0 kept existing, 1 loaded, 2 corrected (force and the value differed).
const LOAD = `
local g = redis.call('HGET', KEYS[1], 'g') or '0'
if g ~= ARGV[2] then return -1 end
if ARGV[1] == '' then
  ${MARK_NOT_SOLD}
  return 1
end
local cur = redis.call('HGET', KEYS[1], 'a')
if cur and ARGV[4] ~= '1' then return 0 end
redis.call('HDEL', KEYS[1], 'x')
redis.call('HSET', KEYS[1], 'a', ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
if cur and cur ~= ARGV[1] then return 2 end
return 1`

// KEYS = gate hashes, ARGV = deltas..., bumpGeneration ('1'|'0'), ttl. Adds to loaded counters only:
// creating a counter from a delta would invent a value far below the truth.
const ADJUST = `
local n = #KEYS
local bump = ARGV[n + 1] == '1'
for i = 1, n do
  if bump then redis.call('HINCRBY', KEYS[i], 'g', 1) end
  if redis.call('HEXISTS', KEYS[i], 'a') == 1 then redis.call('HINCRBY', KEYS[i], 'a', tonumber(ARGV[i])) end
  if redis.call('TTL', KEYS[i]) == -1 then redis.call('EXPIRE', KEYS[i], tonumber(ARGV[n + 2])) end
end
return n`

// KEYS[1]. The product is no longer sold: drop its counter, mark it, and bump the generation so a
// load that read Postgres before the deletion cannot reinstall a counter.
const RETIRE = `
redis.call('HINCRBY', KEYS[1], 'g', 1)
${MARK_NOT_SOLD}
return 1`

// Takes units, all or nothing (checks every line before decrementing any). KEYS[1] = a marker that
// makes the call back off (the checkout door: the request's Idempotency-Key was already claimed, so
// a retry must replay, not be refused), checked only when ARGV[1] == '1' and then set on a take
// (ARGV[#KEYS + 1] = its TTL): the admitted request goes on to claim that key, so this saves it a
// round trip; KEYS[2..] = gate hashes, ARGV[2..] = quantities. Returns {1} taken, {-1} marker
// present, {-2} a counter not loaded, {-3} a product not sold (Postgres decides), {0, i...} short
// (1-based line indexes). Only {1} changes anything.
const TAKE = `
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return {-1} end
local short = {}
for i = 2, #KEYS do
  if redis.call('HEXISTS', KEYS[i], 'x') == 1 then return {-3} end
  local a = redis.call('HGET', KEYS[i], 'a')
  if not a then return {-2} end
  if tonumber(a) < tonumber(ARGV[i]) then short[#short + 1] = i - 1 end
end
if #short > 0 then return {0, unpack(short)} end
for i = 2, #KEYS do redis.call('HINCRBY', KEYS[i], 'a', -tonumber(ARGV[i])) end
if ARGV[1] == '1' then redis.call('SET', KEYS[1], '1', 'EX', tonumber(ARGV[#KEYS + 1])) end
return {1}`

type GateRedis = Redis & {
  gateTake(n: number, ...args: (string | number)[]): Promise<number[]>
  gateLoad(k: string, value: number | '', gen: string, ttl: number, force: string): Promise<number>
  gateRetire(k: string): Promise<number>
  gateAdjust(n: number, ...args: (string | number)[]): Promise<number>
}

const defined = new WeakSet<Redis>()
function gateClient(r: Redis): GateRedis {
  if (!defined.has(r)) {
    r.defineCommand('gateTake', { lua: TAKE })
    r.defineCommand('gateLoad', { numberOfKeys: 1, lua: LOAD })
    r.defineCommand('gateAdjust', { lua: ADJUST })
    r.defineCommand('gateRetire', { numberOfKeys: 1, lua: RETIRE })
    defined.add(r)
    // Changes made while Redis was unreachable never reached the counters: reconcile on return.
    r.on('ready', () => {
      if (stale) void reconcileGate().catch(() => {})
    })
  }
  return r as GateRedis
}

/** Set when a gate operation had to be skipped; the next usable moment reconciles every counter. */
let stale = false
let reconciling: Promise<number> | null = null

const gateKey = (productId: string) => key('gate', productId)

type Line = { productId: string; quantity: number }

/** A key whose presence makes the door step aside, and that the door sets when it admits. */
export type DoorMarker = { key: string; ttlSeconds: number }

function takeArgs(lines: readonly Line[], marker: DoorMarker | null): (string | number)[] {
  const keys = lines.map((l) => gateKey(l.productId))
  return [
    keys.length + 1,
    marker?.key ?? (keys[0] as string),
    ...keys,
    marker ? '1' : '0',
    ...lines.map((l) => l.quantity),
    marker?.ttlSeconds ?? 0,
  ]
}

/** One TAKE call; `marker` null = no marker to respect (its key slot then repeats a gate key). */
function take(g: GateRedis, lines: readonly Line[], marker: DoorMarker | null): Promise<number[]> {
  return g.gateTake(...(takeArgs(lines, marker) as [number, ...(string | number)[]]))
}

/**
 * The door's TAKEs of one event-loop turn go to Redis as ONE pipeline: one socket write and one
 * wake-up of Redis for the whole crowd instead of one each (a write to a local socket was the
 * API's largest single cost in the deep-stock sale). Each caller gets its own reply or error. A
 * TAKE is never sent twice: one whose reply is lost may have taken units (the caller's fallback
 * marks the counters stale, and the next reservation reconciles them).
 */
const takeTogether = coalesce<{ g: GateRedis; lines: readonly Line[]; marker: DoorMarker }, number[] | Error>(async (calls) => {
  const p = (calls[0] as { g: GateRedis }).g.pipeline() as unknown as {
    gateTake(...a: (string | number)[]): void
    exec(): Promise<[Error | null, unknown][] | null>
  }
  for (const c of calls) p.gateTake(...takeArgs(c.lines, c.marker))
  const res = await p.exec()
  return calls.map((_, i) => {
    const [err, v] = res?.[i] ?? [new Error('gate pipeline: no reply'), null]
    return err ?? (v as number[])
  })
})

async function takeAtTheDoor(g: GateRedis, lines: readonly Line[], marker: DoorMarker): Promise<number[]> {
  const res = await takeTogether({ g, lines, marker })
  if (res instanceof Error) throw res
  return res
}

/** The products of TAKE's {0, i...} answer. */
function shortOf(res: number[], lines: readonly Line[]): string[] {
  gateMetrics.rejections.inc()
  return res.slice(1).map((i) => (lines[i - 1] as Line).productId)
}

export type GateResult = { ok: true } | { ok: false; productIds: string[] } | null

/**
 * Takes `quantity` of every line from the gate, all or nothing. null = Redis unavailable (the
 * caller proceeds on Postgres alone); {ok:false} = sold out according to the gate.
 */
export async function gateReserve(lines: Line[]): Promise<GateResult> {
  // After an outage the counters may be low (restocks and releases they never heard of): don't let
  // them refuse anyone until they are reloaded — every caller waits for the one reconcile.
  if (stale && redisUsable()) await reconcileGate().catch(() => 0)
  else if (reconciling) await reconciling.catch(() => 0)
  return withRedis(
    async (r) => {
      const g = gateClient(r)
      for (let attempt = 0; attempt < 5; attempt++) {
        const res = await take(g, lines, null)
        if (res[0] === 1) return { ok: true } as const
        if (res[0] === 0) return { ok: false, productIds: shortOf(res, lines) } as const
        if (res[0] !== -2) return null
        await loadGate(
          g,
          lines.map((l) => l.productId),
        )
      }
      // Could not install a counter (availability kept changing under us): let Postgres decide.
      return null
    },
    () => {
      stale = true
      gateMetrics.fallbacks.inc({ op: 'reserve' })
      return null
    },
  )
}

/**
 * The checkout's door (gated strategy): in one Redis call, either refuse the lines the gate knows
 * are sold out, or take the units from the counters right away, so that no more requests go on to
 * Postgres than there are units (a peek would let the whole crowd through while the first buyers'
 * reservations are still on their way). null = the gate can't say (Redis unusable, counters
 * possibly stale after an outage, a product it does not vouch for, or `marker` exists) and took
 * nothing. An admission sets `marker`. Whoever holds one must hand it to the reservation or give
 * it back.
 */
export async function gateAdmit(lines: readonly Line[], marker: DoorMarker): Promise<GateResult> {
  if (stale || reconciling || !redisUsable()) return null
  return withRedis<GateResult>(
    async (r) => {
      const g = gateClient(r)
      let res = await takeAtTheDoor(g, lines, marker)
      if (res[0] === -2) {
        // Cold counters (first buyers of a sale): load them once per process, then try again.
        await loadGateOnce(
          g,
          lines.map((l) => l.productId),
        )
        res = await take(g, lines, marker)
      }
      if (res[0] === 1) return { ok: true }
      if (res[0] !== 0) return null
      return { ok: false, productIds: shortOf(res, lines) }
    },
    () => {
      // A TAKE whose answer was lost may have taken units: the counters can no longer be trusted.
      stale = true
      gateMetrics.fallbacks.inc({ op: 'admit' })
      return null
    },
  )
}

const loadsInFlight = new Map<string, Promise<number>>()

/** loadGate with in-process single-flight per product set (a sale's first burst loads once). */
function loadGateOnce(g: GateRedis, productIds: string[]): Promise<number> {
  const id = productIds.join(',')
  let p = loadsInFlight.get(id)
  if (!p) {
    p = loadGate(g, productIds).finally(() => loadsInFlight.delete(id))
    loadsInFlight.set(id, p)
  }
  return p
}

async function loadGate(g: GateRedis, productIds: string[], force = false): Promise<number> {
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
      const res = await g.gateLoad(gateKey(id), value ?? '', gens[i] ?? '0', GATE_TTL_SECONDS, force ? '1' : '0')
      if (res === 1) gateMetrics.loads.inc()
      if (res === 2) corrected++
    }),
  )
  return corrected
}

/**
 * Applies a committed (or about-to-commit) change of availability to loaded counters. Positive
 * deltas bump the generation so concurrent loaders retry. Fire-and-forget safe: a failure marks the
 * gate stale and the next reconcile repairs it.
 */
export async function gateAdjust(deltas: { productId: string; delta: number }[], kind: 'compensate' | 'change'): Promise<void> {
  const nonzero = deltas.filter((d) => d.delta !== 0)
  if (nonzero.length === 0) return
  if (kind === 'compensate') gateMetrics.compensations.inc(nonzero.length)
  const bump = kind === 'change' && nonzero.some((d) => d.delta > 0) ? '1' : '0'
  await withRedis(
    async (r) => {
      await gateClient(r).gateAdjust(
        nonzero.length,
        ...nonzero.map((d) => gateKey(d.productId)),
        ...nonzero.map((d) => d.delta),
        bump,
        GATE_TTL_SECONDS,
      )
    },
    () => {
      if (redis()) stale = true
      gateMetrics.fallbacks.inc({ op: kind })
    },
  )
}

/** Fix drift between Redis gate counters and Postgres; returns how many counters were corrected. */
export function reconcileGate(): Promise<number> {
  reconciling ??= (async () => {
    const r = redis()
    if (!r) return 0
    const g = gateClient(r)
    const wasStale = stale
    stale = false
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
      stale = stale || wasStale
      logger.warn({ err: (err as Error).message }, 'gate reconcile failed')
      throw err
    }
    if (fixed) gateMetrics.reconcileFixes.inc(fixed)
    return fixed
  })().finally(() => {
    reconciling = null
  })
  return reconciling
}

/** A product was deleted: the gate stops vouching for it (the full path answers 422 from now on). */
export async function gateRetire(productId: string): Promise<void> {
  await withRedis(
    async (r) => {
      await gateClient(r).gateRetire(gateKey(productId))
    },
    () => {
      if (redis()) stale = true
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
      stale = true
    },
  )
}

/**
 * A sold-out counter (0 units) for `productId`, a product that does not exist, for `ttlSeconds`:
 * the boot warm-up's probe (src/warmup.ts), so the door's refusal is compiled before the first
 * sale. A gate reconcile marks unknown products "not sold", so the caller installs it again when
 * the door stepped aside for it. false = Redis is not usable (no probe).
 */
export async function gateSoldOutProbe(productId: string, ttlSeconds: number): Promise<boolean> {
  const k = gateKey(productId)
  return withRedis(
    async (r) => {
      const res = await r.multi().hdel(k, 'x').hset(k, 'a', 0).expire(k, ttlSeconds).exec()
      return !!res && res.every(([err]) => !err)
    },
    () => false,
  )
}

/** Removes a probe counter (best effort: it expires anyway). */
export async function gateDropProbe(productId: string): Promise<void> {
  await withRedis(
    async (r) => {
      await r.del(gateKey(productId))
    },
    () => {},
  )
}
