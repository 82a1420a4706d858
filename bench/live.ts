// `bun run bench:live [-- --vus 1000 --events 20]`: fan-out latency of the admin live feed. Two API
// processes (ROLE=api) on an empty migrated database and a private redis-server; k6
// (bench/k6/live.js) opens VUS subscribers across both; once all are connected (their live_clients
// gauges), this process publishes EVENTS order.created messages through the bus (as the analytics
// job does), 250 ms apart, while a sale publishes its status 200 times a second (coalesced by the
// feed). Writes bench/results/live.json: delivery p50/p95/p99, RSS of both APIs, machine load.
import { mkdirSync } from 'node:fs'
import { loadavg } from 'node:os'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { benchDatabase, startBenchApi } from './lib/instance'
import { k6Binary, k6Env } from './lib/k6'

const root = resolve(import.meta.dir, '..')
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    vus: { type: 'string', default: '1000' },
    events: { type: 'string', default: '20' },
    hold: { type: 'string', default: '300' },
    'sale-every-ms': { type: 'string', default: '5' },
  },
})
const k6 = k6Binary
if (!k6) throw new Error('k6 not found (K6, ~/go/bin/k6 or PATH)')
const VUS = Number(values.vus)

const port = 7400 + Math.floor(Math.random() * 500)
const redisProc = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
  stdout: 'ignore',
  stderr: 'inherit',
})
const redisUrl = `redis://127.0.0.1:${port}`
const database = await benchDatabase('live')
const apis: Bun.Subprocess[] = []
const rssMb = (pid: number) =>
  Bun.file(`/proc/${pid}/status`)
    .text()
    .then((t) => Math.round(Number(t.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024))
try {
  const sql = postgres(database.url, { max: 1, onnotice: () => {} })
  const [admin] = await sql`insert into users (id, email, name, password_hash, role)
    values (${Bun.randomUUIDv7()}, ${`bench-admin-${Date.now()}@bench.local`}, 'Bench Admin', 'not-a-login', 'admin') returning id`
  await sql.end()
  // Before importing src: the bus and the token signer read config from the environment.
  Object.assign(process.env, { DATABASE_URL: database.url, REDIS_URL: redisUrl, REDIS_PREFIX: database.prefix, LOG_LEVEL: 'warn' })
  const { signAccessToken } = await import('../src/plugins/auth')
  const { publishLive } = await import('../src/modules/live/bus')
  const { publishSaleStatus } = await import('../src/modules/live/sales')
  const { p99FromBuckets } = await import('../src/modules/live/tick')
  const token = await signAccessToken((admin as { id: string }).id, 'admin', 0)
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: database.prefix,
    RATE_LIMIT_ENABLED: 'false',
    LOG_LEVEL: 'warn',
    JOBS_ENABLED: 'false',
  }
  const started = [await startBenchApi(env, { portBase: 4900 }), await startBenchApi(env, { portBase: 5500 })]
  for (const s of started) apis.push(s.proc)
  const rssIdle = await Promise.all(apis.map((p) => rssMb(p.pid)))
  mkdirSync(resolve(root, 'bench/results'), { recursive: true })
  const summaryFile = resolve(root, `bench/results/live.${database.runId}.tmp.json`)
  const load = { before: loadavg() }
  const k = Bun.spawn([k6, 'run', '--quiet', '--address', '127.0.0.1:0', resolve(root, 'bench/k6/live.js')], {
    cwd: root,
    env: {
      ...process.env,
      ...k6Env,
      BASE_URLS: started.map((s) => s.base).join(','),
      TOKEN: token,
      VUS: String(VUS),
      HOLD: values.hold,
      SUMMARY_FILE: summaryFile,
    },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  // Ready when every subscriber is connected (the instances' live_clients gauges).
  const clients = async () => {
    let n = 0
    for (const s of started) {
      const text = await fetch(`${s.base}/metrics`).then((r) => r.text())
      n += Number(text.match(/^live_clients\{feed="admin"\} (\d+)/m)?.[1] ?? 0)
    }
    return n
  }
  const t0 = Date.now()
  let connected = 0
  for (;;) {
    connected = await clients()
    if (connected >= VUS || Date.now() - t0 > 240_000) break
    await Bun.sleep(250)
  }
  const connectSeconds = (Date.now() - t0) / 1000
  console.log(`${connected}/${VUS} subscribers connected in ${connectSeconds.toFixed(1)} s`)
  const saleId = crypto.randomUUID()
  let remaining = 100_000
  const saleEvery = Number(values['sale-every-ms'])
  const sale = setInterval(() => {
    if (saleEvery > 0) void publishSaleStatus(saleId, { status: 'live', remaining: remaining-- })
  }, saleEvery || 1000)
  for (let i = 0; i < Number(values.events); i++) {
    await publishLive('order.created', { bench: true, i, sentAt: Date.now() })
    await Bun.sleep(250)
  }
  clearInterval(sale)
  await Bun.sleep(1000) // the last ones arrive
  await publishLive('order.created', { done: true }) // subscribers leave
  // The servers' share: publication → last local send (live_fanout_seconds), both instances summed.
  const les: number[] = []
  const cum: number[] = []
  for (const s of started) {
    const text = await fetch(`${s.base}/metrics`).then((r) => r.text())
    let i = 0
    for (const m of text.matchAll(/^live_fanout_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) {
      les[i] = m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1])
      cum[i] = (cum[i] ?? 0) + Number(m[2])
      i++
    }
  }
  const serverFanoutP99Ms = p99FromBuckets(les, cum)
  const rssLoaded = await Promise.all(apis.map((p) => rssMb(p.pid)))
  const k6Exit = await k.exited
  const summary = await Bun.file(summaryFile).json()
  await Bun.file(summaryFile).delete()
  const out = {
    benchmark: 'live',
    at: new Date().toISOString(),
    subscribers: VUS,
    instances: 2,
    connected,
    connectSeconds,
    events: Number(values.events),
    expectedMessages: connected * Number(values.events),
    ...summary,
    serverFanoutP99Ms, // upper bucket bound; histogram counts every message on both instances
    target: { p99Le250ms: (summary.deliveryMs?.p99 ?? 1e9) <= 250, serverP99Le250ms: (serverFanoutP99Ms ?? 1e9) <= 250 },
    apiRssMb: { idle: rssIdle, with1000Subscribers: rssLoaded },
    k6ExitCode: k6Exit,
    machine: {
      cpus: navigator.hardwareConcurrency,
      loadavg: { ...load, after: loadavg() },
      note: 'APIs, Redis and k6 (1,000 sockets) share this machine with other work',
    },
  }
  await Bun.write(resolve(root, 'bench/results/live.json'), `${JSON.stringify(out, null, 2)}\n`)
  console.log(JSON.stringify(out, null, 2))
} finally {
  for (const p of apis) p.kill('SIGTERM')
  await Promise.all(apis.map((p) => p.exited))
  redisProc.kill()
  await redisProc.exited
  await database.drop()
}
// The bus and the token signer keep Redis/Postgres clients open.
process.exit(0)
