// `bun run bench:search [-- --products 100000 --runs 1 --phase 15 --vus 50]`: fresh database,
// seeded catalog plus planted concept products, the search index built by the job's code, one API
// process (RATE_LIMIT_ENABLED=false LOG_LEVEL=warn JOBS_ENABLED=false), then k6
// (bench/k6/search.js): keyword then hybrid at the same VUs. Also the API process's CPU ms per
// request per phase (from /proc, same run), which a loaded shared machine distorts less than latency.
// Writes bench/results/search.json.
import { mkdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { seedCatalog } from '../db/seed/catalog'
import { plantSearchConcepts } from '../db/seed/search-concepts'
import { median } from './flash-sale-table'
import { benchDatabase, startBenchApi } from './lib/instance'
import { k6Binary, k6Env } from './lib/k6'

const root = resolve(import.meta.dir, '..')
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    products: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '1' },
    phase: { type: 'string', default: '15' },
    vus: { type: 'string', default: '50' },
  },
})
const products = Number(values.products)
const k6 = k6Binary
if (!k6) throw new Error('k6 not found (K6, ~/go/bin/k6 or PATH)')
const port = 7400 + Math.floor(Math.random() * 500)
const redisProc = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
  stdout: 'ignore',
  stderr: 'inherit',
})
const redisUrl = `redis://127.0.0.1:${port}`
const database = await benchDatabase('search')
let api: Bun.Subprocess | null = null

/** utime + stime of a process in seconds (Linux /proc; clock ticks are 100 Hz there). */
const cpuSeconds = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  return (Number(f[11]) + Number(f[12])) / 100
}

try {
  const sql = postgres(database.url, { max: 2, onnotice: () => {} })
  await sql.begin((tx) => seedCatalog(tx, { products, categories: 200, reviews: products, users: 1000, seed: 42 }))
  const planted = await plantSearchConcepts(sql, { perConcept: 100, seed: 7, exact: 20 })
  await sql.end()
  // Build with the job's code in a child process pointed at the bench database (config is per process).
  const t0 = performance.now()
  const build = Bun.spawn(
    [
      'bun',
      '-e',
      "const { buildSearchIndex } = await import('./jobs/search/build'); console.log(JSON.stringify(await buildSearchIndex())); process.exit(0)",
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        REDIS_URL: 'none',
        LOG_LEVEL: 'warn',
        WORKER_STATEMENT_TIMEOUT_MS: '0',
        DATABASE_STATEMENT_TIMEOUT_MS: '0',
      },
      stdout: 'pipe',
      stderr: 'inherit',
    },
  )
  const built = JSON.parse((await new Response(build.stdout).text()).trim().split('\n').pop() as string)
  console.log(`index built in ${Math.round(performance.now() - t0)} ms:`, built)

  const words = [
    'headphones',
    'wireless headphones',
    'portable speaker',
    'tent',
    'ergonomic chair',
    'camping lantern',
    'waterproof jacket',
    'headph',
    'ceramic mug',
    'sleeping bag',
    'cordless vacuum',
    'skilet',
    'hedphones',
    'gifting',
  ]
  const queries = [...words, ...planted.queries.map((q) => q.q)]
  mkdirSync(resolve(root, 'bench/results'), { recursive: true })
  const queriesFile = resolve(root, `bench/results/search-queries.${database.runId}.tmp.json`)
  await Bun.write(queriesFile, JSON.stringify(queries))

  const started = await startBenchApi(
    {
      DATABASE_URL: database.url,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: database.prefix,
      RATE_LIMIT_ENABLED: 'false',
      LOG_LEVEL: 'warn',
      JOBS_ENABLED: 'false',
    },
    // A port far from the other benchmarks' (with reusePort a clash would share the port silently).
    { portBase: 30000 + Math.floor(Math.random() * 20000), stdout: 'inherit' },
  )
  api = started.proc
  // Readiness: /ready stops listing the semantic index once the process has loaded it.
  for (let i = 0; i < 600; i++) {
    const r = (await (await fetch(`${started.base}/ready`)).json()) as { degraded: string[] }
    if (!r.degraded.some((d) => d.includes('semantic'))) break
    await Bun.sleep(100)
  }
  // Steady state: every query once per mode first, so the phases measure cached product bodies
  // (as the browse benchmark warms its product reads), not the first load of each candidate.
  for (const q of queries) {
    for (const mode of ['keyword', 'hybrid'])
      await fetch(`${started.base}/api/v1/products?q=${encodeURIComponent(q)}&limit=20&mode=${mode}`).then((r) => r.text())
  }
  type ModeStats = { requests: number; rps: number; p50: number; p95: number; p99: number; max: number }
  type Summary = { keyword: ModeStats; hybrid: ModeStats; k6ExitCode?: number; apiCpuMsPerRequest?: { keyword: number; hybrid: number } }
  const results: Summary[] = []
  for (let i = 0; i < Number(values.runs); i++) {
    const summaryFile = resolve(root, `bench/results/search.${database.runId}.${i}.tmp.json`)
    const cpu0 = cpuSeconds(api.pid)
    const k = Bun.spawn([k6, 'run', '--quiet', '--address', '127.0.0.1:0', resolve(root, 'bench/k6/search.js')], {
      cwd: root,
      env: {
        ...process.env,
        ...k6Env,
        BASE_URL: started.base,
        QUERIES_FILE: queriesFile,
        SUMMARY_FILE: summaryFile,
        VUS: values.vus,
        PHASE: values.phase,
      },
      stdout: 'ignore',
      stderr: 'inherit',
    })
    // The API's CPU at the gap between the phases (k6 starts hybrid PHASE + 2 s after keyword).
    const pid = api.pid
    let cpuMid = cpu0
    const mid = setTimeout(
      () => {
        cpuMid = cpuSeconds(pid)
      },
      (Number(values.phase) + 1) * 1000,
    )
    const code = await k.exited
    clearTimeout(mid)
    const s = (await Bun.file(summaryFile).json()) as Summary
    s.k6ExitCode = code
    const cpuEnd = cpuSeconds(pid)
    s.apiCpuMsPerRequest = {
      keyword: Math.round((((cpuMid - cpu0) * 1000) / s.keyword.requests) * 100) / 100,
      hybrid: Math.round((((cpuEnd - cpuMid) * 1000) / s.hybrid.requests) * 100) / 100,
    }
    results.push(s)
    await Bun.file(summaryFile).delete()
    console.log(
      `run ${i + 1}: keyword p95 ${s.keyword.p95?.toFixed(2)} ms (${s.keyword.rps} rps), hybrid p95 ${s.hybrid.p95?.toFixed(2)} ms (${s.hybrid.rps} rps)`,
    )
  }
  await Bun.file(queriesFile).delete()
  const med = (f: (s: Summary) => number) => Math.round(median(results.map(f)) * 100) / 100
  const medians = {
    keywordP95Ms: med((s) => s.keyword.p95),
    keywordRps: med((s) => s.keyword.rps),
    hybridP95Ms: med((s) => s.hybrid.p95),
    hybridRps: med((s) => s.hybrid.rps),
    hybridOverKeywordP95: med((s) => s.hybrid.p95 / s.keyword.p95),
    keywordCpuMsPerRequest: med((s) => s.apiCpuMsPerRequest?.keyword ?? Number.NaN),
    hybridCpuMsPerRequest: med((s) => s.apiCpuMsPerRequest?.hybrid ?? Number.NaN),
  }
  const out = {
    benchmark: 'search',
    at: new Date().toISOString(),
    products: products + planted.products,
    vus: Number(values.vus),
    phaseSeconds: Number(values.phase),
    index: built,
    runs: results,
    medians,
    targets: { hybridP95Ms: medians.hybridP95Ms <= 30 },
    machine: {
      cpus: navigator.hardwareConcurrency,
      loadAverage: readFileSync('/proc/loadavg', 'utf8').trim(),
      note: 'API, Postgres, Redis and k6 share this machine',
    },
  }
  await Bun.write(resolve(root, 'bench/results/search.json'), `${JSON.stringify(out, null, 2)}\n`)
  console.table(medians)
} finally {
  if (api) {
    api.kill('SIGTERM')
    await api.exited
  }
  await database.drop()
  redisProc.kill()
  await redisProc.exited
}
