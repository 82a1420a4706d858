// `bun run eval:recs`: offline quality of every recommendation strategy on a TIME split of the
// seeded orders (run `bun run db:seed` first). Orders before the cutoff (default: the last 15 % of
// the time span held out) train every model — ALS, content, segments, co-occurrence, popularity,
// and the blend on its own inner split of that training data; for each customer who bought
// something new after the cutoff, each strategy's top 10 (filled with best sellers when short, as
// served) is checked against those new products. Cold customers (no purchase before the cutoff)
// are counted too: that is where `auto` differs. Writes bench/results/recs-eval.json as
// { strategies: { <name>: { hitRate10, recall10, ndcg10, coverage } }, … }.
import { parseArgs } from 'node:util'
import { type BaseParams, productFacts, trainBlend } from '../jobs/ml/blend'
import type { Dataset } from '../jobs/ml/dataset'
import { loadDataset } from '../jobs/ml/dataset'
import { modelConfig } from '../jobs/ml/params'
import { baseLists, fitAlsModel, fitContentModel, fitCooccurrence, fitSegmentModel, type UserCtx, userContexts } from '../jobs/ml/pipeline'
import { config } from '../src/config'
import { resolveInfra, stopEmbedded } from '../src/infra/embedded'
import type { Scored } from '../src/modules/recommendations/features'
import { blendScores, listScores, prepare, segmentScores } from '../src/modules/recommendations/scorers'

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    k: { type: 'string', default: '10' },
    holdout: { type: 'string', default: '0.15' },
    out: { type: 'string', default: 'bench/results/recs-eval.json' },
  },
})
const K = Number(values.k)
await resolveInfra()
const { sql, closeDb } = await import('../src/infra/db')
const t0 = performance.now()

const all = await loadDataset(sql, 36500)
const done = all.orders.filter((o) => o.completed)
if (done.length === 0) {
  console.error('no completed orders: run `bun run db:seed` first')
  process.exit(1)
}
const first = (done[0] as { at: number }).at
const last = (done[done.length - 1] as { at: number }).at
const cutoff = last - (last - first) * Number(values.holdout)
const train: Dataset = { ...all, orders: all.orders.filter((o) => o.at < cutoff), asOf: cutoff }
const testOrders = all.orders.filter((o) => o.at >= cutoff && o.completed)

const [als, content, segment, blend] = await Promise.all([
  modelConfig(sql, 'als'),
  modelConfig(sql, 'content'),
  modelConfig(sql, 'segment'),
  modelConfig(sql, 'blend'),
])
const base: BaseParams = { als: als.params, content: content.params, segment: segment.params }
const timings: Record<string, number> = {}
const timed = <T>(name: string, fn: () => T): T => {
  const s = performance.now()
  const r = fn()
  timings[name] = Math.round(performance.now() - s)
  console.error(`trained ${name} in ${timings[name]} ms`)
  return r
}
const alsFit = timed('als', () => fitAlsModel(train, base.als))
const contentFit = timed('content', () => fitContentModel(train, base.content))
const segFit = timed('segment', () => fitSegmentModel(train, base.segment))
const cooc = timed('cooccurrence', () => fitCooccurrence(train))
const blendFit = timed('blend', () => trainBlend(train, blend.params, base, contentFit.model))
const blendModel = prepare(blendFit.artefact) as ReturnType<typeof prepare> & { kind?: never }
const models = { als: alsFit.model, content: contentFit.model, segment: segFit.model, cooc: cooc.lists, popular: cooc.popular }

// Test cases: what each customer bought after the cutoff that they did not own before it.
const ctxs = userContexts(train)
const targets = new Map<string, Set<string>>()
for (const o of testOrders) {
  const owned = ctxs.get(o.userId)?.owned
  const t = targets.get(o.userId) ?? new Set<string>()
  for (const i of o.items) if (!owned?.has(i)) t.add(i)
  targets.set(o.userId, t)
}
const cases: { ctx: UserCtx; target: Set<string> }[] = []
for (const [userId, target] of targets) {
  if (target.size === 0) continue
  cases.push({ ctx: ctxs.get(userId) ?? { userId, history: [], owned: new Set() }, target })
}

const STRATEGIES = ['popular', 'cooccurrence', 'als', 'content', 'segment', 'blend', 'auto'] as const
type Name = (typeof STRATEGIES)[number]
const fill = (list: Scored[], ctx: UserCtx): string[] => {
  const ids = list.slice(0, K).map((x) => x.id)
  if (ids.length < K) {
    const have = new Set([...ids, ...ctx.owned])
    for (const p of listScores(models.popular, have, K - ids.length)) ids.push(p.id)
  }
  return ids
}
function recommend(name: Name, ctx: UserCtx): string[] {
  if (name === 'popular') return fill([], ctx)
  if (name === 'auto' && ctx.history.length === 0) return fill(segmentScores(models.segment, ctx.userId, ctx.owned, K), ctx)
  const lists = baseLists(models, ctx, name === 'blend' || name === 'auto' ? blend.params.candidates : K)
  if (name === 'blend' || name === 'auto') return fill(blendScores(blendModel as never, lists, ctx.history, cutoff, K), ctx)
  return fill(lists[name], ctx)
}

type Metrics = { hitRate10: number; recall10: number; ndcg10: number; coverage: number; cases: number }
function evaluate(name: Name, subset: typeof cases): Metrics {
  let hits = 0
  let recall = 0
  let ndcg = 0
  const shown = new Set<string>()
  for (const c of subset) {
    const recs = recommend(name, c.ctx)
    let found = 0
    let dcg = 0
    recs.forEach((r, i) => {
      shown.add(r)
      if (c.target.has(r)) {
        found++
        dcg += 1 / Math.log2(i + 2)
      }
    })
    let idcg = 0
    for (let i = 0; i < Math.min(K, c.target.size); i++) idcg += 1 / Math.log2(i + 2)
    if (found) hits++
    recall += found / c.target.size
    ndcg += dcg / idcg
  }
  const n = Math.max(1, subset.length)
  const r4 = (x: number) => Math.round(x * 1e4) / 1e4
  return {
    hitRate10: r4(hits / n),
    recall10: r4(recall / n),
    ndcg10: r4(ndcg / n),
    coverage: r4(shown.size / all.products.length),
    cases: subset.length,
  }
}

const strategies = Object.fromEntries(STRATEGIES.map((s) => [s, evaluate(s, cases)])) as Record<Name, Metrics>
const warm = cases.filter((c) => c.ctx.history.length > 0)
const cold = cases.filter((c) => c.ctx.history.length === 0)
const coldStart = Object.fromEntries((['popular', 'segment', 'auto'] as const).map((s) => [s, evaluate(s, cold)]))
const single = (['cooccurrence', 'als', 'content', 'segment'] as const).reduce(
  (b, s) => (strategies[s].hitRate10 > strategies[b].hitRate10 ? s : b),
  'cooccurrence' as Name,
)

// Planted bundles (db:seed writes them): is the partner among the anchor's top-10 content/co-occurrence neighbours?
let planted: Record<string, number> | null = null
const truthFile = Bun.file(`${config.DATA_DIR}/seed-planted-pairs.json`)
if (await truthFile.exists()) {
  const truth = ((await truthFile.json()) as { pairs: [string, string][] }).pairs.filter(([a]) => cooc.lists.has(a))
  if (truth.length) {
    planted = {
      pairs: truth.length,
      cooccurrence: truth.filter(([a, b]) => (cooc.lists.get(a) ?? []).slice(0, 10).some((n) => n.id === b)).length / truth.length,
    }
  }
}

const pop = strategies.popular.hitRate10
const best = (['cooccurrence', 'als', 'content', 'segment', 'blend', 'auto'] as const).reduce(
  (b, s) => (strategies[s].hitRate10 > strategies[b].hitRate10 ? s : b),
  'cooccurrence' as Name,
)
const result = {
  at: new Date().toISOString(),
  k: K,
  split: { kind: 'time', holdout: Number(values.holdout), cutoff: new Date(cutoff).toISOString() },
  dataset: {
    orders: all.orders.length,
    trainOrders: train.orders.length,
    testOrders: testOrders.length,
    products: all.products.length,
    cases: cases.length,
    warmCases: warm.length,
    coldCases: cold.length,
  },
  strategies,
  coldStart,
  targets: {
    bestVsPopularity: {
      best,
      ratio: Math.round((strategies[best].hitRate10 / pop) * 100) / 100,
      met: strategies[best].hitRate10 >= 2 * pop,
    },
    blendVsBestSingle: {
      bestSingle: single,
      blend: strategies.blend.hitRate10,
      auto: strategies.auto.hitRate10,
      met: strategies.blend.hitRate10 >= strategies[single].hitRate10 && strategies.auto.hitRate10 >= strategies[single].hitRate10,
    },
  },
  models: {
    als: { interactions: alsFit.interactions, factors: base.als.factors, iterations: base.als.iterations },
    segment: { k: segFit.artefact.k, silhouette: segFit.artefact.silhouette, tried: segFit.artefact.tried },
    blend: {
      ...blendFit.metrics,
      features: blendFit.artefact.features,
      weights: blendFit.artefact.weights.map((w) => Math.round(w * 1000) / 1000),
    },
    facts: productFacts(train).size,
  },
  trainingMs: timings,
  plantedPairRecovery: planted,
  seconds: Math.round(performance.now() - t0) / 1000,
}

const pct = (x: number) => `${(x * 100).toFixed(2)} %`.padStart(9)
console.log(
  `\nTime split at ${result.split.cutoff}: ${cases.length} customers (${warm.length} warm, ${cold.length} cold), ${all.products.length} products, k = ${K}\n`,
)
console.log(
  `${'strategy'.padEnd(14)} ${'hit-rate@10'.padStart(11)} ${'recall@10'.padStart(11)} ${'NDCG@10'.padStart(9)} ${'coverage'.padStart(9)}`,
)
for (const s of STRATEGIES) {
  const m = strategies[s]
  console.log(`${s.padEnd(14)} ${pct(m.hitRate10).padStart(11)} ${pct(m.recall10).padStart(11)} ${pct(m.ndcg10)} ${pct(m.coverage)}`)
}
console.log(
  `\nbest (${best}) / popularity hit-rate: × ${result.targets.bestVsPopularity.ratio} — target ≥ 2×: ${result.targets.bestVsPopularity.met ? 'MET' : 'NOT MET'}`,
)
console.log(
  `blend ${pct(strategies.blend.hitRate10).trim()}, auto ${pct(strategies.auto.hitRate10).trim()} vs best single (${single}) ${pct(strategies[single].hitRate10).trim()}: ${result.targets.blendVsBestSingle.met ? 'MET' : 'NOT MET'}`,
)
console.log(`training ms: ${JSON.stringify(timings)}`)
await Bun.write(values.out as string, `${JSON.stringify(result, null, 2)}\n`)
console.log(`\nwritten ${values.out}`)
await closeDb()
await stopEmbedded()
process.exit(result.targets.bestVsPopularity.met ? 0 : 1)
