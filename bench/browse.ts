// `bun run bench:browse [-- --products 100000 --runs 3 --phase 15 --vus 50]`: fresh database, seeded
// catalog, one API process (RATE_LIMIT_ENABLED=false LOG_LEVEL=warn), then k6 (bench/k6/browse.js)
// `runs` times. Writes bench/results/browse.json (every run + medians) and prints a table with the
// product-read / health ratio. Uses DATABASE_URL / REDIS_URL servers (defaults: local ones) and
// removes the database and Redis keys it created.
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { seedCatalog } from '../db/seed/catalog'
import { dropPrefix } from '../src/infra/redis'
import { median } from './flash-sale-table'
import { benchDatabase, startBenchApi } from './lib/instance'
import { k6Binary, k6Env } from './lib/k6'

const root = resolve(import.meta.dir, '..')
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    products: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    phase: { type: 'string', default: '15' },
    vus: { type: 'string', default: '50' },
    'read-vus': { type: 'string', default: '50' },
  },
})
const products = Number(values.products)
const runs = Number(values.runs)

// A private redis-server (other benchmarks on a shared machine hammer the shared one), unless
// BENCH_REDIS_URL names one.
let redisProc: Bun.Subprocess | null = null
let redisUrl = process.env.BENCH_REDIS_URL ?? ''
if (!redisUrl) {
  const port = 7400 + Math.floor(Math.random() * 500)
  redisProc = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdout: 'ignore',
    stderr: 'inherit',
  })
  redisUrl = `redis://127.0.0.1:${port}`
  await Bun.sleep(300)
}
const k6 = k6Binary
if (!k6) throw new Error('k6 not found (K6, ~/go/bin/k6 or PATH)')

const database = await benchDatabase('bench')
const { runId, prefix } = database
const benchUrl = database.url
let api: Bun.Subprocess | null = null

try {
  const sql = postgres(benchUrl, { max: 2, onnotice: () => {} })
  const report = await sql.begin((tx) => seedCatalog(tx, { products, categories: 200, reviews: products * 2, users: 3000, seed: 42 }))
  console.log(`seeded ${report.products} products, ${report.reviews} reviews in ${report.ms} ms`)
  const ids = (await sql`select id from products order by md5(id::text) limit 1000`).map((r) => r.id as string)
  await sql.end()
  mkdirSync(resolve(root, 'bench/results'), { recursive: true })
  const idsFile = resolve(root, `bench/results/browse-ids.${runId}.tmp.json`)
  await Bun.write(idsFile, JSON.stringify(ids))

  const started = await startBenchApi(
    {
      DATABASE_URL: benchUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      RATE_LIMIT_ENABLED: 'false',
      LOG_LEVEL: 'warn',
      JOBS_ENABLED: 'false',
    },
    { portBase: 3900, stdout: 'inherit' },
  )
  api = started.proc
  const base = started.base

  type Summary = Record<string, any>
  const results: Summary[] = []
  for (let i = 0; i < runs; i++) {
    const summaryFile = resolve(root, `bench/results/browse.${runId}.${i}.tmp.json`)
    const k = Bun.spawn([k6, 'run', '--quiet', '--address', '127.0.0.1:0', resolve(root, 'bench/k6/browse.js')], {
      cwd: root,
      env: {
        ...process.env,
        ...k6Env,
        BASE_URL: base,
        IDS_FILE: idsFile,
        SUMMARY_FILE: summaryFile,
        VUS: values.vus,
        READ_VUS: values['read-vus'],
        PHASE: values.phase,
      },
      stdout: 'ignore',
      stderr: 'inherit',
    })
    const code = await k.exited
    const s = (await Bun.file(summaryFile).json()) as Summary
    s.k6ExitCode = code // 99 = a threshold failed
    results.push(s)
    await Bun.file(summaryFile).delete()
    console.log(
      `run ${i + 1}/${runs}: health ${s.health.rps} rps, product ${s.product.rps} rps p99 ${s.product.p99?.toFixed(2)} ms, search ${s.search.rps} rps p95 ${s.search.p95?.toFixed(2)} ms, ratio ${s.productToHealthRatio}`,
    )
  }
  await Bun.file(idsFile).delete()

  const med = (f: (s: Summary) => number) => Math.round(median(results.map(f)) * 100) / 100
  const medians = {
    healthRps: med((s) => s.health.rps),
    productRps: med((s) => s.product.rps),
    productP99Ms: med((s) => s.product.p99),
    productP95Ms: med((s) => s.product.p95),
    searchRps: med((s) => s.search.rps),
    searchP95Ms: med((s) => s.search.p95),
    searchP99Ms: med((s) => s.search.p99),
    productToHealthRatio: med((s) => s.productToHealthRatio),
  }
  const targets = {
    productToHealthRatio: medians.productToHealthRatio >= 0.6,
    productP99Ms: medians.productP99Ms <= 20,
    searchP95Ms: medians.searchP95Ms <= 25,
  }
  const out = {
    benchmark: 'browse',
    at: new Date().toISOString(),
    products,
    vus: Number(values.vus),
    readVus: Number(values['read-vus']),
    phaseSeconds: Number(values.phase),
    runs: results,
    medians,
    targets,
    machine: { cpus: navigator.hardwareConcurrency, note: 'API, Postgres, Redis and k6 share this machine' },
  }
  await Bun.write(resolve(root, 'bench/results/browse.json'), `${JSON.stringify(out, null, 2)}\n`)
  console.log(
    `\nbrowse benchmark — ${products} products, search ${values.vus} VUs, health/product ${values['read-vus']} VUs, ${runs} run(s), medians`,
  )
  console.table({
    'GET /health': { rps: medians.healthRps, 'p95 ms': '', 'p99 ms': '', target: '' },
    'GET /products/:id (cached)': {
      rps: medians.productRps,
      'p95 ms': medians.productP95Ms,
      'p99 ms': medians.productP99Ms,
      target: `p99 ≤ 20 ms ${targets.productP99Ms ? '✓' : '✗'}; ≥ 0.6× health: ${medians.productToHealthRatio}× ${targets.productToHealthRatio ? '✓' : '✗'}`,
    },
    'GET /products?q= (search)': {
      rps: medians.searchRps,
      'p95 ms': medians.searchP95Ms,
      'p99 ms': medians.searchP99Ms,
      target: `p95 ≤ 25 ms ${targets.searchP95Ms ? '✓' : '✗'}`,
    },
  })
} finally {
  if (api) {
    api.kill('SIGTERM')
    await api.exited
  }
  await database.drop()
  if (redisProc) {
    redisProc.kill()
    await redisProc.exited
  } else await dropPrefix(redisUrl, prefix)
}
