// Seed: orders + order_items over existing users and products, with PLANTED structure the
// recommender should find (and the eval measures):
//   • popularity long tail — a Zipf-like weight per product (rank^-0.9 over a random permutation);
//   • taste clusters — each customer has 1–2 favourite root categories; 70 % of picks come from them;
//   • bundles — ~5 % of products are "anchors" with one partner in the same root category, usually a
//     tail product. An order with the anchor gets the partner with p = 0.5; otherwise the customer
//     comes back for it in a later order with p = 0.5 (printer → ink). 2 % of orders are a bundle
//     bought outright. Partners are chosen uniformly, so raw co-purchase counts would rank
//     best-sellers above them — a normalised measure must not.
// Everything derives from `seed` (ids included), so the planted pairs are recomputable and returned.
import { COMPLETED_ORDER_STATUSES } from '../schema'
import { rng, shuffled, WeightedSampler } from './prng'

const STATUS_WEIGHTS: [string, number][] = [
  ['delivered', 78],
  ['shipped', 4],
  ['fulfilled', 2],
  ['paid', 4],
  ['cancelled', 5],
  ['refunded', 2],
  ['payment_failed', 2],
  ['expired', 3],
]

export type SeedOrdersOptions = { orders: number; seed: number; now?: Date; days?: number }
export type SeedOrdersResult = { orders: number; lines: number; plantedPairs: [string, string][] }

// biome-ignore lint/suspicious/noExplicitAny: postgres.js Sql or TransactionSql
export async function seedOrders(sql: any, opts: SeedOrdersOptions): Promise<SeedOrdersResult> {
  const r = rng(opts.seed, 'orders')
  const now = (opts.now ?? new Date()).getTime()
  const spanMs = (opts.days ?? 180) * 86_400_000
  // Taste clusters are per ROOT category, whatever the depth of the tree.
  const products: { id: string; price_cents: number; root: string }[] = await sql`
    with recursive tree as (
      select id, id as root from categories where parent_id is null
      union all select c.id, t.root from categories c join tree t on c.parent_id = t.id)
    select p.id, p.price_cents, coalesce(t.root, '00000000-0000-0000-0000-000000000000'::uuid) as root
    from products p left join tree t on t.id = p.category_id order by p.id`
  const users: { id: string }[] = await sql`select id from users where role = 'customer' order by id`
  if (products.length < 2 || users.length === 0 || opts.orders === 0) return { orders: 0, lines: 0, plantedPairs: [] }

  const P = products.length
  const weight = new Array<number>(P)
  shuffled(
    r,
    products.map((_, i) => i),
  ).forEach((idx, rank) => {
    weight[idx] = 1 / (rank + 5) ** 0.9
  })
  const all = products.map((_, i) => i)
  const global = new WeightedSampler(all, weight)
  const byRoot = new Map<string, number[]>()
  for (let i = 0; i < P; i++) {
    const root = (products[i] as { root: string }).root
    const list = byRoot.get(root) ?? []
    list.push(i)
    byRoot.set(root, list)
  }
  const roots = [...byRoot.keys()].sort()
  const rootSampler = new Map(
    roots.map((root) => [
      root,
      new WeightedSampler(
        byRoot.get(root) as number[],
        (byRoot.get(root) as number[]).map((i) => weight[i] as number),
      ),
    ]),
  )

  // Bundles: anchors by popularity (distinct), partner uniform within the anchor's root category.
  const partnerOf = new Map<number, number>()
  const bundleCount = Math.max(1, Math.round(P * 0.05))
  for (let tries = 0; partnerOf.size < bundleCount && tries < bundleCount * 20; tries++) {
    const a = global.sample(r)
    if (partnerOf.has(a)) continue
    const siblings = byRoot.get((products[a] as { root: string }).root) as number[]
    const b = siblings.length > 1 ? r.pick(siblings) : r.int(0, P - 1)
    if (b === a) continue
    partnerOf.set(a, b)
  }
  const anchors = [...partnerOf.keys()]
  const bundleSampler = new WeightedSampler(
    anchors,
    anchors.map((a) => weight[a] as number),
  )

  // Customer activity is heavy-tailed: a few buy often, many buy once or twice.
  const activity = new WeightedSampler(
    users.map((_, i) => i),
    users.map(() => 0.05 + r.next() ** 3),
  )
  const perUser = new Uint32Array(users.length)
  for (let i = 0; i < opts.orders; i++) (perUser[activity.sample(r)] as number)++
  const statusSampler = new WeightedSampler(
    STATUS_WEIGHTS.map(([s]) => s),
    STATUS_WEIGHTS.map(([, w]) => w),
  )

  const o = {
    id: [] as string[],
    user: [] as string[],
    status: [] as string[],
    total: [] as number[],
    created: [] as string[],
    updated: [] as string[],
    expires: [] as string[],
  }
  const li = { order: [] as string[], product: [] as string[], qty: [] as number[], price: [] as number[] }
  const itemStart: number[] = []
  for (let u = 0; u < users.length; u++) {
    const n = perUser[u] as number
    if (n === 0) continue
    const favourites = [r.pick(roots), r.pick(roots)]
    const times = Array.from({ length: n }, () => now - 3_600_000 - r.next() * spanMs).sort((x, y) => x - y)
    let later = new Set<number>()
    for (const at of times) {
      const items = new Map<number, number>()
      const qty = () => (r.chance(0.8) ? 1 : r.chance(0.75) ? 2 : 3)
      for (const p of later) if (r.chance(0.6)) items.set(p, qty())
      later = new Set([...later].filter((p) => !items.has(p)))
      if (r.chance(0.02)) {
        const a = bundleSampler.sample(r)
        items.set(a, qty())
        items.set(partnerOf.get(a) as number, qty())
      }
      let picks = 1
      while (picks < 8 && r.chance(0.55)) picks++
      for (let k = 0; k < picks; k++) {
        const p = r.chance(0.7) ? (rootSampler.get(r.pick(favourites)) as WeightedSampler<number>).sample(r) : global.sample(r)
        items.set(p, qty())
        const partner = partnerOf.get(p)
        if (partner !== undefined && !items.has(partner)) {
          // same basket with p = 0.5; otherwise a later order with p = 0.5
          const roll = r.next()
          if (roll < 0.5) items.set(partner, qty())
          else if (roll < 0.75) later.add(partner)
        }
      }
      const id = r.uuidv7(at)
      let total = 0
      itemStart.push(li.order.length)
      for (const [p, q] of items) {
        const price = (products[p] as { price_cents: number }).price_cents
        total += price * q
        li.order.push(id)
        li.product.push((products[p] as { id: string }).id)
        li.qty.push(q)
        li.price.push(price)
      }
      const status = statusSampler.sample(r)
      o.id.push(id)
      o.user.push((users[u] as { id: string }).id)
      o.status.push(status)
      o.total.push(total)
      o.created.push(new Date(at).toISOString())
      o.updated.push(new Date(Math.min(now, at + (status === 'delivered' ? 5 : 1) * 86_400_000)).toISOString())
      o.expires.push(new Date(at + 15 * 60_000).toISOString())
    }
  }

  // Insert in time order (= UUIDv7 id order), as a live shop writes them: generated per customer,
  // the heap would otherwise be shuffled relative to the id index and scans by id would be random IO.
  const order = o.id.map((_, i) => i).sort((x, y) => ((o.id[x] as string) < (o.id[y] as string) ? -1 : 1))
  itemStart.push(li.order.length)
  const perm = <T>(a: T[]) => order.map((i) => a[i] as T)
  const itemPerm = order.flatMap((i) =>
    Array.from({ length: (itemStart[i + 1] as number) - (itemStart[i] as number) }, (_, k) => (itemStart[i] as number) + k),
  )
  const permItems = <T>(a: T[]) => itemPerm.map((i) => a[i] as T)
  for (const k of Object.keys(o) as (keyof typeof o)[]) (o[k] as unknown[]) = perm(o[k] as unknown[])
  for (const k of Object.keys(li) as (keyof typeof li)[]) (li[k] as unknown[]) = permItems(li[k] as unknown[])

  // unnest() bulk inserts: one parameter per column, so a 20k-row chunk is a single round trip.
  const C = 20_000
  for (let i = 0; i < o.id.length; i += C) {
    const s = (a: unknown[]) => a.slice(i, i + C)
    await sql`
      insert into orders (id, user_id, status, total_cents, currency, reservation_expires_at, created_at, updated_at)
      select id, user_id, status, total, 'USD', expires, created, updated
      from unnest(${s(o.id)}::uuid[], ${s(o.user)}::uuid[], ${s(o.status)}::text[], ${s(o.total)}::int[],
                  ${s(o.expires)}::text[]::timestamptz[], ${s(o.created)}::text[]::timestamptz[], ${s(o.updated)}::text[]::timestamptz[])
        as t(id, user_id, status, total, expires, created, updated)`
  }
  for (let i = 0; i < li.order.length; i += C) {
    const s = (a: unknown[]) => a.slice(i, i + C)
    await sql`
      insert into order_items (order_id, product_id, quantity, unit_price_cents)
      select * from unnest(${s(li.order)}::uuid[], ${s(li.product)}::uuid[], ${s(li.qty)}::int[], ${s(li.price)}::int[])`
  }
  // Denormalised best-seller counter the catalog ranks by (units over completed orders).
  await sql`
    update products p set purchase_count = x.units
    from (select oi.product_id, sum(oi.quantity)::int as units
          from order_items oi join orders o on o.id = oi.order_id
          where o.status in ${sql(COMPLETED_ORDER_STATUSES)} group by oi.product_id) x
    where x.product_id = p.id`
  const plantedPairs = anchors.map(
    (a) => [(products[a] as { id: string }).id, (products[partnerOf.get(a) as number] as { id: string }).id] as [string, string],
  )
  return { orders: o.id.length, lines: li.order.length, plantedPairs }
}
