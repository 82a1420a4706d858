// `bun run eval:recs`: offline quality of "recommended for you" on the seeded dataset.
// Leave-last-out: each customer's last completed order is held out, the co-occurrence model is
// trained on every other completed order, and the top 10 of each recommender is checked against
// the held-out basket (minus products the customer already owned: no recommender may suggest
// those). Compares co-occurrence (cosine, and the alternative measures) against popularity.
// Prints a table and writes bench/results/recs-eval.json. Stock and soft-deletes are ignored
// offline. Run `bun run db:seed` first.
import { parseArgs } from 'node:util'
import { COMPLETED_ORDER_STATUSES } from '../db/schema'
import { config } from '../src/config'
import { resolveInfra, stopEmbedded } from '../src/infra/embedded'
import { aggregateNeighbours, CooccurrenceCounter, type Measure, type Neighbour } from '../src/modules/recommendations/cooccurrence'

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { k: { type: 'string', default: '10' }, out: { type: 'string', default: 'bench/results/recs-eval.json' } },
})
const K = Number(values.k)
await resolveInfra()
const { sql, closeDb } = await import('../src/infra/db')

const t0 = performance.now()
type Order = { id: string; user_id: string; p: string[] }
const orders = await sql<Order[]>`
  select o.id, o.user_id, array_agg(oi.product_id order by oi.product_id) as p
  from orders o join order_items oi on oi.order_id = o.id
  where o.status in ${sql(COMPLETED_ORDER_STATUSES)}
  group by o.id order by o.user_id, o.created_at, o.id`
if (orders.length === 0) {
  console.error('no completed orders: run `bun run db:seed` first')
  process.exit(1)
}

// Split: the last order of every customer with ≥ 2 orders is the test basket.
const byUser = new Map<string, Order[]>()
for (const o of orders) {
  const l = byUser.get(o.user_id) ?? []
  l.push(o)
  byUser.set(o.user_id, l)
}
const train = new CooccurrenceCounter()
const cases: { history: string[]; owned: Set<string>; target: Set<string> }[] = []
let skippedSingle = 0
let skippedRepeat = 0
for (const list of byUser.values()) {
  if (list.length < 2) {
    skippedSingle++
    for (const o of list) train.addOrder(o.p)
    continue
  }
  const past = list.slice(0, -1)
  for (const o of past) train.addOrder(o.p)
  const history: string[] = []
  for (const o of [...past].reverse()) for (const p of o.p) if (!history.includes(p)) history.push(p)
  const owned = new Set(history)
  const target = new Set((list[list.length - 1] as Order).p.filter((p) => !owned.has(p)))
  if (target.size === 0) skippedRepeat++
  else cases.push({ history, owned, target })
}

const popular = train.popular(K + 500).map((p) => p.id)
const topPopular = (owned: Set<string>, exclude = new Set<string>(), n = K) => {
  const out: string[] = []
  for (const id of popular) {
    if (out.length >= n) break
    if (!owned.has(id) && !exclude.has(id)) out.push(id)
  }
  return out
}

type Row = { method: string; hitRate: number; recall: number; coverage: number }
function evaluate(method: string, recommend: (c: (typeof cases)[number]) => string[]): Row {
  let hits = 0
  let recall = 0
  const shown = new Set<string>()
  for (const c of cases) {
    const recs = recommend(c)
    for (const r of recs) shown.add(r)
    const found = recs.filter((r) => c.target.has(r)).length
    if (found > 0) hits++
    recall += found / c.target.size
  }
  return { method, hitRate: hits / cases.length, recall: recall / cases.length, coverage: shown.size / train.ids.length }
}

const rows: Row[] = [evaluate('popularity', (c) => topPopular(c.owned))]
const models = new Map<Measure, Map<string, Neighbour[]>>()
for (const measure of ['cosine', 'jaccard', 'lift', 'count'] as Measure[]) {
  const lists = train.topK({ k: config.RECS_TOP_K, minSupport: config.RECS_MIN_SUPPORT, measure })
  models.set(measure, lists)
  rows.push(
    evaluate(`co-occurrence (${measure})${measure === 'cosine' ? ' ← served' : ''}`, (c) => {
      // Same as the API: neighbours of past purchases, then best sellers to fill the list.
      const recs = aggregateNeighbours(c.history, (id) => lists.get(id), K, c.owned).map((x) => x.id)
      return [...recs, ...topPopular(c.owned, new Set(recs), K - recs.length)]
    }),
  )
}

// Planted bundles (written by db:seed): is the partner among the anchor's top 10 neighbours?
let planted: { pairs: number; recovered: Record<string, number> } | null = null
const truthFile = Bun.file(`${config.DATA_DIR}/seed-planted-pairs.json`)
if (await truthFile.exists()) {
  const truth = (await truthFile.json()) as { pairs: [string, string][] }
  const live = truth.pairs.filter(([a]) => train.count(a) > 0)
  if (live.length) {
    planted = { pairs: live.length, recovered: {} }
    for (const [measure, lists] of models) {
      planted.recovered[measure] = live.filter(([a, b]) => (lists.get(a) ?? []).slice(0, 10).some((n) => n.id === b)).length / live.length
    }
  }
}

const pop = rows[0] as Row
const cos = rows[1] as Row
const result = {
  at: new Date().toISOString(),
  k: K,
  dataset: {
    completedOrders: orders.length,
    customers: byUser.size,
    evaluated: cases.length,
    skippedSingleOrder: skippedSingle,
    skippedOnlyRepurchases: skippedRepeat,
    products: train.ids.length,
  },
  model: { measure: 'cosine', topK: config.RECS_TOP_K, minSupport: config.RECS_MIN_SUPPORT },
  rows,
  liftOverPopularity: { hitRate: cos.hitRate / pop.hitRate, recall: cos.recall / pop.recall },
  target: 'co-occurrence hit-rate@10 ≥ 2 × popularity',
  targetMet: cos.hitRate >= 2 * pop.hitRate,
  plantedPairRecovery: planted,
  seconds: Math.round(performance.now() - t0) / 1000,
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`.padStart(9)
console.log(`\nLeave-last-out over ${cases.length} customers (${orders.length} completed orders, ${train.ids.length} products), k = ${K}\n`)
console.log(`${'method'.padEnd(34)} ${`hit-rate@${K}`.padStart(11)} ${`recall@${K}`.padStart(11)} ${'coverage'.padStart(9)}`)
for (const r of rows) console.log(`${r.method.padEnd(34)} ${pct(r.hitRate).padStart(11)} ${pct(r.recall).padStart(11)} ${pct(r.coverage)}`)
console.log(
  `\nco-occurrence (cosine) / popularity: hit-rate × ${result.liftOverPopularity.hitRate.toFixed(2)}, recall × ${result.liftOverPopularity.recall.toFixed(2)} — target ≥ 2×: ${result.targetMet ? 'MET' : 'NOT MET'}`,
)
if (planted) {
  console.log(
    `planted bundles recovered in the anchor's top 10 (of ${planted.pairs}): ${Object.entries(planted.recovered)
      .map(([m, v]) => `${m} ${pct(v).trim()}`)
      .join(', ')}`,
  )
}
await Bun.write(values.out as string, `${JSON.stringify(result, null, 2)}\n`)
console.log(`\nwritten ${values.out}`)
await closeDb()
await stopEmbedded()
process.exit(result.targetMet ? 0 : 1)
