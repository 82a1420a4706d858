// Seed: planted daily demand series for the planning forecasts (issue 26) and their backtest.
// Four kinds, each drawn deterministically from the seed:
//   • regular      — level 4–40 units/day, a weekly profile (weekend peak, quiet Monday), a trend of
//                    −0.15 %…+0.5 % of the level per day, Poisson noise; 1 in 3 has a stock-out
//                    window (5–12 days) during which nothing sells although people still wanted to;
//   • promotional  — regular plus 2–4 promotions of 3–5 days at 2–3 × demand;
//   • intermittent — a sale on 8–40 % of days, 1 + Poisson(1.5) units when it happens;
//   • short        — regular demand, but the product is only 3–4 weeks old.
// `plantDemand` is pure (the eval script backtests exactly these series); `seedDemand` writes them
// as orders (one per product and day), the stock-out windows as ledger rows (an `adjust` that
// empties the shelf, a `restock` that refills it: net zero, so `inventory:check` still agrees), and
// three suppliers with offers for the planted products.
import { type Rng, rng } from './prng'

export type DemandKind = 'regular' | 'promotional' | 'intermittent' | 'short'
export type PlantedSeries = {
  kind: DemandKind
  /** true demand per day, oldest first; index days-1 = yesterday */
  demand: number[]
  /** what the shop saw: demand, or null on a stock-out day (nothing sold) */
  observed: (number | null)[]
  /** the first day the product existed (short series) */
  startDay: number
}

export const DEMAND_MIX: Record<DemandKind, number> = { regular: 0.5, promotional: 0.15, intermittent: 0.25, short: 0.1 }

function poisson(r: Rng, lambda: number): number {
  if (lambda <= 0) return 0
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gauss(r)))
  const L = Math.exp(-lambda)
  let k = 0
  let p = 1
  do {
    k++
    p *= r.next()
  } while (p > L)
  return k - 1
}

function gauss(r: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - r.next())) * Math.cos(2 * Math.PI * r.next())
}

function weeklyProfile(r: Rng): number[] {
  // index = day % 7 of the series; the series starts on a fixed weekday, so the phase is random.
  const amp = 0.15 + r.next() * 0.35
  const base = [0.75, 0.9, 0.95, 1, 1.1, 1.35, 1.3].map((v) => 1 + (v - 1) * (amp / 0.3))
  const shift = r.int(0, 6)
  return base.map((_, i) => base[(i + shift) % 7] as number)
}

function regular(r: Rng, days: number, promos: boolean): { demand: number[]; stockout: boolean[] } {
  const level = 4 + r.next() * 36
  const slope = level * (-0.0015 + r.next() * 0.0065)
  const week = weeklyProfile(r)
  const lift = new Array<number>(days).fill(1)
  if (promos) {
    const count = r.int(2, 4)
    for (let i = 0; i < count; i++) {
      const start = r.int(0, days - 5)
      const len = r.int(3, 5)
      const x = 2 + r.next()
      for (let d = start; d < Math.min(days, start + len); d++) lift[d] = x
    }
  }
  const demand = Array.from({ length: days }, (_, d) =>
    poisson(r, Math.max(0.2, (level + slope * d) * (week[d % 7] as number) * (lift[d] as number))),
  )
  const stockout = new Array<boolean>(days).fill(false)
  if (r.chance(1 / 3)) {
    const start = r.int(Math.floor(days / 3), days - 20)
    const len = r.int(5, 12)
    for (let d = start; d < start + len; d++) stockout[d] = true
  }
  return { demand, stockout }
}

/** `count` planted series of `days` days each (deterministic in seed). */
export function plantDemand(seed: number, count: number, days = 182): PlantedSeries[] {
  const r = rng(seed, 'demand')
  const kinds = Object.entries(DEMAND_MIX) as [DemandKind, number][]
  const out: PlantedSeries[] = []
  for (let i = 0; i < count; i++) {
    // Deterministic mix: cycle through the kinds in proportion.
    let u = ((i + 0.5) / count) % 1
    let kind: DemandKind = 'regular'
    for (const [k, w] of kinds) {
      if (u < w) {
        kind = k
        break
      }
      u -= w
    }
    if (kind === 'intermittent') {
      const p = 0.08 + r.next() * 0.32
      const demand = Array.from({ length: days }, () => (r.chance(p) ? 1 + poisson(r, 1.5) : 0))
      out.push({ kind, demand, observed: demand.slice(), startDay: 0 })
      continue
    }
    const { demand, stockout } = regular(r, days, kind === 'promotional')
    const startDay = kind === 'short' ? days - r.int(21, 28) : 0
    const observed = demand.map((v, d) => (d < startDay ? null : stockout[d] ? null : v))
    out.push({ kind, demand, observed, startDay })
  }
  return out
}

export async function seedDemand(
  // biome-ignore lint/suspicious/noExplicitAny: postgres.js Sql or TransactionSql
  sql: any,
  opts: { seed: number; now: Date; products: number; days?: number },
): Promise<{ planted: number }> {
  const days = opts.days ?? 182
  const ids: { id: string; price_cents: number; on_hand: number }[] = await sql`
    select p.id, p.price_cents, i.on_hand from products p join inventory i on i.product_id = p.id
    where p.deleted_at is null order by p.id limit ${opts.products}`
  const [buyer] = await sql`select id from users where role = 'customer' order by id limit 1`
  if (!buyer || ids.length === 0) return { planted: 0 }
  const series = plantDemand(opts.seed, ids.length, days)
  const r = rng(opts.seed, 'demand-ids')
  const day0 = opts.now.getTime() - days * 86_400_000
  const o = { id: [] as string[], total: [] as number[], at: [] as string[] }
  const li = { order: [] as string[], product: [] as string[], qty: [] as number[], price: [] as number[] }
  const mv = { id: [] as string[], product: [] as string[], kind: [] as string[], delta: [] as number[], at: [] as string[] }
  series.forEach((s, i) => {
    const p = ids[i] as { id: string; price_cents: number; on_hand: number }
    s.observed.forEach((v, d) => {
      if (!v) return
      const at = day0 + d * 86_400_000 + 12 * 3_600_000
      const id = r.uuidv7(at)
      o.id.push(id)
      o.total.push(v * p.price_cents)
      o.at.push(new Date(at).toISOString())
      li.order.push(id)
      li.product.push(p.id)
      li.qty.push(v)
      li.price.push(p.price_cents)
    })
    // Stock-out windows as the ledger tells them: emptied at the window's start, refilled after it
    // (a short series' days before its launch are one such window: nothing to sell yet). Only
    // stocked products can be emptied (a product already at 0 is out of stock anyway).
    if (p.on_hand <= 0) return
    for (let d = 0; d < days; d++) {
      const startsOut = s.observed[d] === null && (d === 0 || s.observed[d - 1] !== null)
      if (!startsOut) continue
      let end = d
      while (end < days && s.observed[end] === null) end++
      const from = day0 + d * 86_400_000 + 60_000
      const to = day0 + end * 86_400_000 + 60_000
      for (const [kind, delta, at] of [
        ['adjust', -p.on_hand, from],
        ['restock', p.on_hand, to],
      ] as const) {
        mv.id.push(r.uuidv7(at))
        mv.product.push(p.id)
        mv.kind.push(kind)
        mv.delta.push(delta)
        mv.at.push(new Date(at).toISOString())
      }
    }
  })
  await sql`
    insert into orders (id, user_id, status, total_cents, currency, reservation_expires_at, created_at, updated_at)
    select id, ${buyer.id}::uuid, 'delivered', total, 'USD', at, at, at
    from unnest(${o.id}::uuid[], ${o.total}::bigint[], ${o.at}::text[]::timestamptz[]) as t(id, total, at)`
  await sql`
    insert into order_items (order_id, product_id, quantity, unit_price_cents)
    select * from unnest(${li.order}::uuid[], ${li.product}::uuid[], ${li.qty}::int[], ${li.price}::int[])`
  if (mv.id.length)
    await sql`
      insert into inventory_movements (id, product_id, kind, on_hand_delta, reserved_delta, reason, created_at)
      select id, product_id, kind, delta, 0, 'seed: planted stock-out', at
      from unnest(${mv.id}::uuid[], ${mv.product}::uuid[], ${mv.kind}::text[], ${mv.delta}::int[], ${mv.at}::text[]::timestamptz[])
        as t(id, product_id, kind, delta, at)`
  // Three suppliers (fast and dear, slow and cheap, in between); each planted product gets an
  // offer from one or two of them, so the reorder suggestions have suppliers to choose between.
  const sup = [
    { name: 'Swift Supply', lead: 2, markup: 0.75 },
    { name: 'Harbor Wholesale', lead: 10, markup: 0.45 },
    { name: 'Midway Trading', lead: 5, markup: 0.6 },
  ].map((x) => ({ ...x, id: r.uuidv7(day0) }))
  await sql`insert into suppliers (id, name, contact_email, lead_time_days)
    select * from unnest(${sup.map((x) => x.id)}::uuid[], ${sup.map((x) => x.name)}::text[],
      ${sup.map((x) => `orders@${x.name.split(' ')[0]?.toLowerCase()}.example`)}::text[], ${sup.map((x) => x.lead)}::int[])`
  const of = {
    id: [] as string[],
    supplier: [] as string[],
    product: [] as string[],
    cost: [] as number[],
    moq: [] as number[],
    pack: [] as number[],
  }
  ids.forEach((p, i) => {
    for (const [k, x] of sup.entries()) {
      if (k !== i % 3 && !r.chance(0.3)) continue
      of.id.push(r.uuidv7(day0))
      of.supplier.push(x.id)
      of.product.push(p.id)
      of.cost.push(Math.max(1, Math.round(p.price_cents * x.markup)))
      of.moq.push(r.pick([1, 5, 10, 24]))
      of.pack.push(r.pick([1, 1, 6, 12]))
    }
  })
  await sql`insert into supplier_offers (id, supplier_id, product_id, unit_cost_cents, min_order_quantity, pack_size)
    select * from unnest(${of.id}::uuid[], ${of.supplier}::uuid[], ${of.product}::uuid[], ${of.cost}::bigint[], ${of.moq}::int[], ${of.pack}::int[])`
  return { planted: series.length }
}
