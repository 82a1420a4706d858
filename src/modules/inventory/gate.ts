// The Redis gate: a live `available` counter per product, so a sold-out flash sale is answered by
// one Lua call instead of a Postgres round trip. The gate is an accelerator, never the fence:
// every unit that passes it is still taken by a conditional UPDATE that Postgres checks. Drift is
// allowed only upwards (gate > truth costs a wasted DB attempt); downward drift (gate < truth
// would refuse sellable stock) is prevented by a generation counter and healed by TTL/reconcile.
//
// Hash key('gate', productId): field `a` = available units (absent = not loaded), field `g` =
// generation, bumped by every Postgres change that *adds* availability (release, expiry, restock),
// so a loader that read Postgres before such a change can't install its gateState.stale value afterwards.
// Field `x` = the product is unknown or no longer sold: the gate does not vouch for it at all, so
// such orders get the full path's answer (422), never the checkout door's 409.
//
// Leases, sorted set key('gate-leases', productId): every take records its ticket there (member
// `ticketId:quantity`, score = expiry in Redis's own clock) in the same Lua call, and the ticket
// leaves it when its Postgres write committed or its units were given back. A process that dies in
// between leaves an expired lease, and the next take that finds the counter short reclaims expired
// leases first (remove + add back, in one script: once per ticket). A ticket given back after its
// lease was reclaimed (a slow, live holder) finds its member gone and adds nothing; one that
// commits after that leaves the counter high by its units — upward drift, which the conditional
// UPDATE refuses and gateRefresh corrects. No generation bump: reclaimed units never reached
// Postgres, so any value a loader read there already counts them. Installing a counter from
// Postgres drops the product's leases for the same reason (the truth counts their units as
import { config } from '../../config'
import { redis, redisUsable, withRedis } from '../../infra/redis'
import { coalesce } from '../../lib/coalesce'
import { GATE_TTL_SECONDS } from './gate-lua'
import { type GateRedis, gateClient, gateKey, gateMetrics, gateState, leaseKey, loadGate, loadGateOnce, reconcileGate } from './gate-state'
import type { StockLine } from './model'

export { gateMetrics, gateRefresh, gateRetire, reconcileGate } from './gate-state'

/** Ticket ids: unique across processes (random per process) and cheap (a counter). */
const ticketPrefix = Math.random().toString(36).slice(2, 10)
let ticketSeq = 0
export const newTicketId = (): string => `${ticketPrefix}${(ticketSeq++).toString(36)}`

type Line = StockLine

/**
 * A key whose presence makes the door step aside, and that the door sets when it admits;
 * `completeKey` exists while every claimed key has its marker (else a refusal is `verify`).
 */
export type DoorMarker = { key: string; ttlSeconds: number; completeKey: string }

function takeArgs(lines: readonly Line[], marker: DoorMarker | null, ticketId: string): (string | number)[] {
  const keys = lines.map((l) => gateKey(l.productId))
  return [
    2 * keys.length + 2,
    marker?.key ?? (keys[0] as string),
    ...keys,
    ...lines.map((l) => leaseKey(l.productId)),
    marker?.completeKey ?? (keys[0] as string),
    marker ? '1' : '0',
    ...lines.map((l) => l.quantity),
    marker?.ttlSeconds ?? 0,
    ticketId,
    config.INVENTORY_GATE_LEASE_MS,
  ]
}

/** One TAKE call; `marker` null = no marker to respect (its key slot then repeats a gate key). */
async function take(g: GateRedis, lines: readonly Line[], marker: DoorMarker | null, ticketId: string): Promise<number[]> {
  return counted(await g.gateTake(...(takeArgs(lines, marker, ticketId) as [number, ...(string | number)[]])))
}

/** Counts the units a TAKE reclaimed from expired leases. */
function counted(res: number[]): number[] {
  if ((res[0] === 1 || res[0] === 0 || res[0] === -4) && res[1]) gateMetrics.reclaims.inc(res[1])
  return res
}

/**
 * The door's TAKEs of one event-loop turn go to Redis as ONE pipeline: one socket write and one
 * wake-up of Redis for the whole crowd instead of one each (a write to a local socket was the
 * API's largest single cost in the deep-stock sale). Each caller gets its own reply or error. A
 * TAKE is never sent twice: one whose reply is lost may have taken units (the caller's fallback
 * marks the counters gateState.stale, and the next reservation reconciles them).
 */
const takeTogether = coalesce<{ g: GateRedis; lines: readonly Line[]; marker: DoorMarker; ticketId: string }, number[] | Error>(
  async (calls) => {
    const p = (calls[0] as { g: GateRedis }).g.pipeline() as unknown as {
      gateTake(...a: (string | number)[]): void
      exec(): Promise<[Error | null, unknown][] | null>
    }
    for (const c of calls) p.gateTake(...takeArgs(c.lines, c.marker, c.ticketId))
    const res = await p.exec()
    return calls.map((_, i) => {
      const [err, v] = res?.[i] ?? [new Error('gate pipeline: no reply'), null]
      return err ?? counted(v as number[])
    })
  },
)

async function takeAtTheDoor(g: GateRedis, lines: readonly Line[], marker: DoorMarker, ticketId: string): Promise<number[]> {
  const res = await takeTogether({ g, lines, marker, ticketId })
  if (res instanceof Error) throw res
  return res
}

/** The products of TAKE's {0, reclaimed, i...} answer. */
function shortOf(res: number[], lines: readonly Line[]): string[] {
  gateMetrics.rejections.inc()
  return res.slice(2).map((i) => (lines[i - 1] as Line).productId)
}

/** `verify`: sold out, but the door's marker may be missing (see DoorMarker): ask Postgres first. */
export type GateResult = { ok: true } | { ok: false; productIds: string[]; verify?: boolean } | null

/**
 * Takes `quantity` of every line from the gate, all or nothing, leased to `ticketId` (end it with
 * gateRelease). null = Redis unavailable (the caller proceeds on Postgres alone); {ok:false} = sold
 * out according to the gate.
 */
export async function gateReserve(lines: Line[], ticketId: string): Promise<GateResult> {
  // After an outage the counters may be low (restocks and releases they never heard of): don't let
  // them refuse anyone until they are reloaded — every caller waits for the one reconcile.
  if (gateState.stale && redisUsable()) await reconcileGate().catch(() => 0)
  else if (gateState.reconciling) await gateState.reconciling.catch(() => 0)
  return withRedis(
    async (r) => {
      const g = gateClient(r)
      for (let attempt = 0; attempt < 5; attempt++) {
        const res = await take(g, lines, null, ticketId)
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
      gateState.stale = true
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
 * possibly gateState.stale after an outage, a product it does not vouch for, or `marker` exists) and took
 * nothing. An admission sets `marker`. Whoever holds one must hand it to the reservation or give
 * it back.
 */
export async function gateAdmit(lines: readonly Line[], marker: DoorMarker, ticketId: string): Promise<GateResult> {
  if (gateState.stale || gateState.reconciling || !redisUsable()) return null
  return withRedis<GateResult>(
    async (r) => {
      const g = gateClient(r)
      let res = await takeAtTheDoor(g, lines, marker, ticketId)
      if (res[0] === -2) {
        // Cold counters (first buyers of a sale): load them once per process, then try again.
        await loadGateOnce(
          g,
          lines.map((l) => l.productId),
        )
        res = await take(g, lines, marker, ticketId)
      }
      if (res[0] === 1) return { ok: true }
      if (res[0] === -4) return { ok: false, productIds: shortOf(res, lines), verify: true }
      if (res[0] !== 0) return null
      return { ok: false, productIds: shortOf(res, lines) }
    },
    () => {
      // A TAKE whose answer was lost may have taken units: the counters can no longer be trusted.
      gateState.stale = true
      gateMetrics.fallbacks.inc({ op: 'admit' })
      return null
    },
  )
}

/**
 * Applies a committed (or about-to-commit) change of availability to loaded counters. Positive
 * deltas bump the generation so concurrent loaders retry. Fire-and-forget safe: a failure marks the
 * gate gateState.stale and the next reconcile repairs it.
 */
export async function gateAdjust(deltas: { productId: string; delta: number }[]): Promise<void> {
  const nonzero = deltas.filter((d) => d.delta !== 0)
  if (nonzero.length === 0) return
  const bump = nonzero.some((d) => d.delta > 0) ? '1' : '0'
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
      if (redis()) gateState.stale = true
      gateMetrics.fallbacks.inc({ op: 'change' })
    },
  )
}

type Release = { g: GateRedis; lines: readonly Line[]; ticketId: string; giveBack: boolean }

/** The lease ends of one event-loop turn go to Redis as one pipeline (a group commit ends dozens). */
const releaseTogether = coalesce<Release, number | Error>(async (calls) => {
  const p = (calls[0] as Release).g.pipeline() as unknown as {
    gateRelease(...a: (string | number)[]): void
    exec(): Promise<[Error | null, unknown][] | null>
  }
  for (const c of calls) {
    p.gateRelease(
      2 * c.lines.length,
      ...c.lines.map((l) => gateKey(l.productId)),
      ...c.lines.map((l) => leaseKey(l.productId)),
      c.ticketId,
      c.giveBack ? '1' : '0',
      ...c.lines.map((l) => l.quantity),
    )
  }
  const res = await p.exec()
  return calls.map((_, i) => {
    const [err, v] = res?.[i] ?? [new Error('gate pipeline: no reply'), null]
    return err ?? Number(v)
  })
})

/**
 * Ends a ticket's leases: `giveBack` after its write failed or never happened (units return to the
 * counters, unless the lease was already reclaimed), not after its write committed. A release that
 * cannot reach Redis is left to the lease's expiry: a committed ticket's units then come back as
 * upward drift (refused by Postgres, corrected by gateRefresh); a failed one's come back as due.
 */
export async function gateRelease(lines: readonly Line[], ticketId: string, giveBack: boolean): Promise<void> {
  await withRedis(
    async (r) => {
      const back = await releaseTogether({ g: gateClient(r), lines, ticketId, giveBack })
      if (back instanceof Error) throw back
      if (back) gateMetrics.compensations.inc(back)
    },
    () => {
      gateMetrics.fallbacks.inc({ op: giveBack ? 'compensate' : 'settle' })
    },
  )
}
