// The Redis gate of a sale's pool and the local sold-out flag. Same Lua scripts, same leases and
// the same drift policy as the product gate (gate.ts): the counter may only drift upwards, Postgres
// (pool.ts) is the fence. Keys: key('pool-gate', saleId) (`a` free units, `g` generation, `x` the
// pool is closed), key('pool-leases', saleId).
//
// The sold-out flag: once the gate says a sale is out, this process answers 409 from memory, without
// a Redis round trip, until units come back (an order expired or was cancelled, the pool grew):
// whoever gives units back drops the flag on every instance through the cache bus (acknowledged).
// The flag lives in a NearCache, so it is off whenever this process does not hear the bus (then
// every request asks the gate or Postgres), and it expires after FLAG_TTL_MS as a backstop.

import { config } from '../../config'
import { attachNearCache, broadcastDrop } from '../../infra/cache-bus'
import { sql } from '../../infra/db'
import { counter } from '../../infra/metrics'
import { key, redisUsable, withRedis } from '../../infra/redis'
import { NearCache } from '../../lib/near-cache'
import { type DoorMarker, newTicketId } from './gate'
import { GATE_TTL_SECONDS } from './gate-lua'
import { type GateRedis, gateClient } from './gate-state'

const FLAG_TTL_MS = 5000

const flagHits = counter('sale_sold_out_flag_hits_total', 'Sale orders refused from the local sold-out flag (no Redis round trip)')
const poolRefusals = counter('sale_gate_rejections_total', 'Sale orders refused by the sale gate without touching Postgres')

export type PoolTicket = { id: string; saleId: string; quantity: number; done: boolean }

const gk = (saleId: string) => key('pool-gate', saleId)
const lk = (saleId: string) => key('pool-leases', saleId)
const flagKey = (saleId: string) => `sale-sold-out:${saleId}`

const flags = new NearCache<true>(10_000, FLAG_TTL_MS)
let attached = false
function soldOutFlags(): NearCache<true> {
  if (!attached) {
    attached = true
    attachNearCache(flags as NearCache<unknown>)
  }
  return flags
}

/** True when this process knows the sale's pool is empty (no I/O). `refusing`: counted as a refusal. */
export function poolSoldOutLocally(saleId: string, refusing = true): boolean {
  const hit = soldOutFlags().get(flagKey(saleId)) === true
  if (hit && refusing) flagHits.inc()
  return hit
}

/** Set after a failed Redis step: counters may be low until each one is reloaded from Postgres. */
let stale = false
const reloaded = new Set<string>()

async function load(g: GateRedis, saleId: string, force: boolean): Promise<void> {
  const gen = (await g.hget(gk(saleId), 'g')) ?? '0'
  const [row] = await sql<{ free: number; closed: boolean }[]>`
    select units - held - sold - returned as free, closed_at is not null as closed from sale_pools where sale_id = ${saleId}`
  const value = !row || row.closed ? '' : Number(row.free)
  await g.gateLoad(gk(saleId), lk(saleId), value, gen, GATE_TTL_SECONDS, force ? '1' : '0')
}

/** Installs the sale's counter from Postgres unless one is loaded (the sweep, before the opening). */
export async function installPoolGate(saleId: string): Promise<boolean> {
  return withRedis(
    async (r) => {
      await load(gateClient(r), saleId, false)
      return true
    },
    () => false,
  )
}

const loading = new Map<string, Promise<void>>()
function loadOnce(g: GateRedis, saleId: string, force: boolean): Promise<void> {
  let p = loading.get(saleId)
  if (!p) {
    p = load(g, saleId, force).finally(() => loading.delete(saleId))
    loading.set(saleId, p)
  }
  return p
}

/**
 * The sale's door: refuses (returns 'sold_out') from the local flag or the gate without touching
 * Postgres, or takes the units and returns a ticket (hand it to reserveFromPool, or give it back
 * with releasePoolTicket). null = the gate can't say (Redis unusable, counter stale or closed,
 * `marker` present): Postgres decides. An admission sets `marker`.
 */
export type PoolRefused = { soldOut: true; verifyKey: boolean }

export async function admitFromPool(saleId: string, quantity: number, marker: DoorMarker): Promise<PoolTicket | PoolRefused | null> {
  // From the flag no marker was looked at: the caller must make sure the key is not held.
  if (poolSoldOutLocally(saleId)) return { soldOut: true, verifyKey: true }
  if (!redisUsable()) return null
  const epoch = soldOutFlags().epoch
  const id = newTicketId()
  // TAKE's keys: the key's marker, the counter, its leases, markers-complete (see gate-lua.ts).
  const args = (): [number, ...(string | number)[]] => [
    4,
    marker.key,
    gk(saleId),
    lk(saleId),
    marker.completeKey,
    '1',
    quantity,
    marker.ttlSeconds,
    id,
    config.INVENTORY_GATE_LEASE_MS,
  ]
  return withRedis<PoolTicket | PoolRefused | null>(
    async (r) => {
      const g = gateClient(r)
      if (stale && !reloaded.has(saleId)) {
        await loadOnce(g, saleId, true)
        reloaded.add(saleId)
      }
      let res = await g.gateTake(...args())
      if (res[0] === -2) {
        await loadOnce(g, saleId, false)
        res = await g.gateTake(...args())
      }
      if (res[0] === 1) return { id, saleId, quantity, done: false }
      // 0: short, and the key has no marker while every claimed key has one (not held); -4: short,
      // but the markers may be incomplete (the caller asks Postgres). Sold out either way.
      if (res[0] !== 0 && res[0] !== -4) return null
      poolRefusals.inc()
      flags.fill(flagKey(saleId), true, epoch)
      return { soldOut: true, verifyKey: res[0] === -4 }
    },
    () => {
      // A TAKE whose answer was lost may have taken units: reload each counter before trusting it.
      stale = true
      reloaded.clear()
      return null
    },
  )
}

/** Ends a ticket's lease: `giveBack` when its order was not written (units return to the counter). */
export async function releasePoolTicket(ticket: PoolTicket, giveBack: boolean): Promise<void> {
  ticket.done = true
  await withRedis(
    async (r) => {
      await gateClient(r).gateRelease(2, gk(ticket.saleId), lk(ticket.saleId), ticket.id, giveBack ? '1' : '0', ticket.quantity)
    },
    () => {},
  )
}

/** Units came back to (delta > 0) or left the pool: adjust a loaded counter; clear the flag everywhere. */
export async function poolGateAdjust(saleId: string, delta: number): Promise<void> {
  if (delta === 0) return
  await withRedis(
    async (r) => {
      await gateClient(r).gateAdjust(1, gk(saleId), delta, delta > 0 ? '1' : '0', GATE_TTL_SECONDS)
    },
    () => {
      stale = true
      reloaded.clear()
    },
  )
  if (delta > 0) await broadcastDrop([flagKey(saleId)])
}

/** The pool closed: the gate stops vouching for it (the door then lets Postgres answer 410). */
export async function poolGateRetire(saleId: string): Promise<void> {
  await withRedis(
    async (r) => {
      await gateClient(r).gateRetire(gk(saleId))
    },
    () => {},
  )
}
