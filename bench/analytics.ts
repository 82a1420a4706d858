// `bun run bench:analytics [-- --database-url URL | --orders 1000000] [--vus 10 --phase 10]`:
// dashboard reads at 1M orders. Uses the seeded database at --database-url (kept), or creates one and
// seeds it (`db:seed --orders N`, dropped afterwards); rebuilds the analytics rollups (timed), starts
// one API process (JOBS_ENABLED=false, private redis-server), runs bench/k6/analytics.js, then the
// uncached in-process timings (bench/analytics-cold.ts). Writes bench/results/analytics.json.
import { mkdirSync } from 'node:fs'
import { loadavg } from 'node:os'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { type BenchDatabase, benchDatabase, startBenchApi } from './lib/instance'
import { k6Binary, k6Env } from './lib/k6'

const root = resolve(import.meta.dir, '..')
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    'database-url': { type: 'string' },
    orders: { type: 'string', default: '1000000' },
    vus: { type: 'string', default: '10' },
    phase: { type: 'string', default: '10' },
    'cold-samples': { type: 'string', default: '40' },
  },
})
const k6 = k6Binary
if (!k6) throw new Error('k6 not found (K6, ~/go/bin/k6 or PATH)')

const run = async (cmd: string[], env: Record<string, string>) => {
  const p = Bun.spawn(cmd, { cwd: root, env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'inherit' })
  const text = await new Response(p.stdout).text()
  if ((await p.exited) !== 0) throw new Error(`${cmd.join(' ')} failed`)
  return text
}

let created: BenchDatabase | null = null
let url = values['database-url'] ?? ''
const port = 7400 + Math.floor(Math.random() * 500)
const redisProc = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
  stdout: 'ignore',
  stderr: 'inherit',
})
const redisUrl = `redis://127.0.0.1:${port}`
let api: Bun.Subprocess | null = null
try {
  if (!url) {
    created = await benchDatabase('analytics')
    url = created.url
    const t0 = performance.now()
    await run(['bun', 'db/seed.ts', '--orders', values.orders], { DATABASE_URL: url, REDIS_URL: 'none' })
    console.log(`seeded ${values.orders} orders in ${Math.round((performance.now() - t0) / 1000)} s`)
  }
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  const [{ orders }] = (await sql`select count(*)::int as orders from orders`) as unknown as [{ orders: number }]
  const rebuild = JSON.parse(
    (await run(['bun', 'scripts/analytics-rebuild.ts'], { DATABASE_URL: url, REDIS_URL: 'none' })).trim().split('\n').at(-1) as string,
  )
  console.log(`rollups rebuilt over ${orders} orders in ${rebuild.ms} ms (drift ${rebuild.drift})`)
  const [admin] = await sql`insert into users (id, email, name, password_hash, role)
    values (${Bun.randomUUIDv7()}, ${`bench-admin-${Date.now()}@bench.local`}, 'Bench Admin', 'not-a-login', 'admin') returning id`
  await sql.end()
  process.env.DATABASE_URL = url
  const { signAccessToken } = await import('../src/plugins/auth')
  const token = await signAccessToken((admin as { id: string }).id, 'admin', 0)

  const prefix = `stampede-bench-analytics-${Date.now().toString(36)}`
  const started = await startBenchApi(
    { DATABASE_URL: url, REDIS_URL: redisUrl, REDIS_PREFIX: prefix, RATE_LIMIT_ENABLED: 'false', LOG_LEVEL: 'warn', JOBS_ENABLED: 'false' },
    { portBase: 4400 },
  )
  api = started.proc
  mkdirSync(resolve(root, 'bench/results'), { recursive: true })
  const summaryFile = resolve(root, `bench/results/analytics.${prefix}.tmp.json`)
  const load = { before: loadavg() }
  const k = Bun.spawn([k6, 'run', '--quiet', '--address', '127.0.0.1:0', resolve(root, 'bench/k6/analytics.js')], {
    cwd: root,
    env: {
      ...process.env,
      ...k6Env,
      BASE_URL: started.base,
      TOKEN: token,
      VUS: values.vus,
      PHASE: values.phase,
      SUMMARY_FILE: summaryFile,
    },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  const k6Exit = await k.exited
  const http = await Bun.file(summaryFile).json()
  await Bun.file(summaryFile).delete()
  const cold = JSON.parse(
    (
      await run(['bun', 'bench/analytics-cold.ts', values['cold-samples']], {
        DATABASE_URL: url,
        REDIS_URL: 'none',
        LOG_LEVEL: 'warn',
        DATABASE_STATEMENT_TIMEOUT_MS: '0',
      })
    )
      .trim()
      .split('\n')
      .at(-1) as string,
  )
  const rss = Number((await Bun.file(`/proc/${api.pid}/status`).text()).match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024
  const out = {
    benchmark: 'analytics',
    at: new Date().toISOString(),
    orders,
    vus: Number(values.vus),
    phaseSeconds: Number(values.phase),
    rebuild,
    http, // per endpoint, cached dashboard queries over HTTP: p95/p99 ms
    uncachedInProcess: cold, // per query: p50/p95 ms of the full computation from the rollups
    targets: {
      p95Le20msCached: ['overview_warm', 'sales_warm', 'top_warm'].every((k) => (http[k]?.p95 ?? 1e9) <= 20),
      p95Le20msUncached: Object.fromEntries(Object.entries(cold as Record<string, { p95: number }>).map(([k, v]) => [k, v.p95 <= 20])),
    },
    apiRssMb: Math.round(rss),
    k6ExitCode: k6Exit,
    machine: {
      cpus: navigator.hardwareConcurrency,
      loadavg: { ...load, after: loadavg() },
      note: 'API, Postgres, Redis and k6 share this machine with other work',
    },
  }
  await Bun.write(resolve(root, 'bench/results/analytics.json'), `${JSON.stringify(out, null, 2)}\n`)
  console.log(JSON.stringify({ http, uncachedInProcess: cold, apiRssMb: out.apiRssMb, loadavg: out.machine.loadavg }, null, 2))
} finally {
  if (api) {
    api.kill('SIGTERM')
    await api.exited
  }
  redisProc.kill()
  await redisProc.exited
  if (created) await created.drop()
}
