// `bun run eval:search [--products 20000] [--per-concept 60] [--exact 60] [--dims 64]`: offline
// search quality on data the project generates. A scratch database gets the regular seed catalog
// plus planted concept products (db/seed/search-concepts.ts); the index is built by the same code
// as the job; every judged query runs through the same service as GET /products in each mode.
// Prints NDCG@10 / recall@10 for keyword, semantic and hybrid (overall and on exact-match queries)
// and writes bench/results/search-eval.json. Needs DATABASE_URL (a server; the database is
// created and dropped here). Redis is not used: every query is computed, none cached.
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { type Metrics, mean, ndcgAt, recallAt } from '../bench/lib/ir-metrics'
import { runMigrations } from '../db/migrate'

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    products: { type: 'string', default: '20000' },
    'per-concept': { type: 'string', default: '60' },
    // As many exact-name queries as planted synonym queries (26): an even mix of the two kinds.
    exact: { type: 'string', default: '26' },
    dims: { type: 'string', default: '64' },
    out: { type: 'string', default: 'bench/results/search-eval.json' },
  },
})
const server = process.env.DATABASE_URL
if (!server) {
  console.error('eval:search needs DATABASE_URL (a Postgres server; a scratch database is created there)')
  process.exit(1)
}
const withDb = (url: string, db: string) => {
  const u = new URL(url)
  u.pathname = `/${db}`
  return u.toString()
}
const dbName = `stampede_eval_search_${process.pid}`
const admin = postgres(withDb(server, 'postgres'), { max: 1, onnotice: () => {} })
await admin.unsafe(`create database "${dbName}"`)
process.env.DATABASE_URL = withDb(server, dbName)
process.env.REDIS_URL = 'none'
process.env.LOG_LEVEL ??= 'warn'
process.env.SEARCH_SEMANTIC_BUDGET_MS ??= '5000'
process.env.SEARCH_RANKING_BUDGET_MS ??= '5000'
// The index build writes its artefact in one statement (the worker's timeout is 5 min, the API's 5 s).
process.env.DATABASE_STATEMENT_TIMEOUT_MS ??= '0'

try {
  await runMigrations(process.env.DATABASE_URL)
  const { sql, closeDb } = await import('../src/infra/db')
  const { seedCatalog } = await import('../db/seed/catalog')
  const { plantSearchConcepts } = await import('../db/seed/search-concepts')
  const { buildSearchIndex } = await import('../jobs/search/build')
  const { refresh, indexState } = await import('../src/modules/search/index-state')
  const { searchProducts } = await import('../src/modules/search/service')
  const { flushSearchLog } = await import('../src/modules/catalog/search')

  const products = Number(values.products)
  await seedCatalog(sql, { products, categories: 200, reviews: products, users: 200, seed: 42 })
  const planted = await plantSearchConcepts(sql, { perConcept: Number(values['per-concept']), seed: 7, exact: Number(values.exact) })
  const built = await buildSearchIndex({ dims: Number(values.dims) })
  await refresh()
  if (indexState().status !== 'ready') throw new Error(`index not ready: ${indexState().reason}`)

  type Mode = 'keyword' | 'semantic' | 'hybrid'
  const modes: Mode[] = ['keyword', 'semantic', 'hybrid']
  const per: Record<Mode, { all: Metrics[]; exact: Metrics[]; synonym: Metrics[] }> = {
    keyword: { all: [], exact: [], synonym: [] },
    semantic: { all: [], exact: [], synonym: [] },
    hybrid: { all: [], exact: [], synonym: [] },
  }
  const latencies: Record<Mode, number[]> = { keyword: [], semantic: [], hybrid: [] }
  const servedBy: Record<string, number> = {}
  for (const query of planted.queries) {
    const rel = new Set(query.relevant)
    for (const mode of modes) {
      const t0 = performance.now()
      const r = await searchProducts({ q: query.q, mode, limit: 10 })
      latencies[mode].push(performance.now() - t0)
      const body = JSON.parse(r.body) as { items: { id: string }[]; searchMode: string }
      servedBy[`${mode}->${body.searchMode}`] = (servedBy[`${mode}->${body.searchMode}`] ?? 0) + 1
      const ids = body.items.map((i) => i.id)
      const m = { ndcg10: ndcgAt(ids, rel), recall10: recallAt(ids, rel) }
      per[mode].all.push(m)
      per[mode][query.kind].push(m)
    }
  }
  await flushSearchLog()
  const p95 = (xs: number[]) => Math.round([...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]! * 100) / 100
  const result = {
    keyword: mean(per.keyword.all),
    semantic: mean(per.semantic.all),
    hybrid: mean(per.hybrid.all),
    exactMatch: { keyword: mean(per.keyword.exact), hybrid: mean(per.hybrid.exact) },
    synonym: { keyword: mean(per.keyword.synonym), semantic: mean(per.semantic.synonym), hybrid: mean(per.hybrid.synonym) },
    ratio: { hybridOverKeywordNdcg10: Math.round((mean(per.hybrid.all).ndcg10 / mean(per.keyword.all).ndcg10) * 1000) / 1000 },
    setup: {
      catalogProducts: products,
      plantedProducts: planted.products,
      queries: { synonym: per.hybrid.synonym.length, exact: per.hybrid.exact.length },
      index: { version: built.version, provider: built.provider, dims: built.dims, docs: built.docCount, buildMs: built.ms },
      servedBy,
      inProcessP95Ms: { keyword: p95(latencies.keyword), semantic: p95(latencies.semantic), hybrid: p95(latencies.hybrid) },
      note: 'recall10 = relevant in top 10 / min(10, relevant); in-process latency, no HTTP, no Redis',
    },
  }
  console.table({
    keyword: result.keyword,
    semantic: result.semantic,
    hybrid: result.hybrid,
    'exact: keyword': result.exactMatch.keyword,
    'exact: hybrid': result.exactMatch.hybrid,
  })
  console.log(JSON.stringify(result.ratio), JSON.stringify(result.setup))
  mkdirSync(dirname(resolve(values.out)), { recursive: true })
  writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`)
  const { stopIndex } = await import('../src/modules/search/index-state')
  await stopIndex()
  await closeDb()
} finally {
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`)
  await admin.end()
}
