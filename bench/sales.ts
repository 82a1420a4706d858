// `bun run bench:sales [--smoke]`: flash-sale events (issue 21), two measurements in one run.
// 1. Pre-open stampede: fresh database + Redis prefix, 2 API instances + the worker (whose sweep
//    installs the sale's gate before the opening), VUS buyers (k6 bench/k6/sales.js, one VU per
//    buyer) polling GET /sales/:id and posting orders from 2 s before startsAt until sold out;
//    stock UNITS, perCustomerLimit 1. Checked here: 0 orders before the opening, exactly UNITS
//    sold to UNITS distinct buyers, 0 5xx, inventory:check clean; p99 of 425s, 201s, 409s apart.
// 2. Closed-loop capacity (wrk, 64 connections, same run, one API instance): the sold-out
//    POST /sales/:id/orders and the sold-out POST /orders against GET /health, and GET /health
//    against a bare Bun.serve JSON server. Targets: each ratio ≥ 0.8.
// Writes bench/results/sales.json (--smoke: sales-smoke.json; 200 buyers, 20 units, 2 s per wrk
// run; exits non-zero on an oversell, an early order, a 5xx or a ledger mismatch).
// env: DATABASE_URL / REDIS_URL (servers), K6, VUS, UNITS, WRK_SECONDS, BENCH_POOL_MAX.
import { mkdirSync, rmSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { resolve } from 'node:path'
import { cpuMs } from './lib/cpu'
import { benchDatabase, startBenchApi } from './lib/instance'
import { k6Binary, k6Env } from './lib/k6'

const smoke = process.argv.includes('--smoke')
const env = (k: string, d: string) => process.env[k] ?? d
const P = {
  vus: Number(env('VUS', smoke ? '200' : '1000')),
  units: Number(env('UNITS', smoke ? '20' : '100')),
  wrkSeconds: Number(env('WRK_SECONDS', smoke ? '2' : '6')),
  poolMax: env('BENCH_POOL_MAX', '8'),
}
const root = resolve(import.meta.dir, '..')
const out = resolve(root, 'bench/results')
mkdirSync(out, { recursive: true })
const redisUrl = env('REDIS_URL', 'redis://127.0.0.1:6379')
const bench = await benchDatabase('sales')
const tokensFile = resolve(out, `sales-tokens-${bench.runId}.tmp.json`)
const jwtSecret = `bench-${crypto.getRandomValues(new Uint8Array(24)).toHex()}`
Object.assign(process.env, {
  DATABASE_URL: bench.url,
  REDIS_URL: redisUrl,
  REDIS_PREFIX: bench.prefix,
  LOG_LEVEL: 'warn',
  JWT_SECRET: jwtSecret,
})
const { sql, db } = await import('../src/infra/db')
const { signAccessToken } = await import('../src/plugins/auth')
const { createInventory } = await import('../src/modules/inventory/service')
const { checkInventory } = await import('../scripts/inventory-check')
const { products } = await import('../db/schema')

const procs = new Set<Bun.Subprocess>()
const appEnv = {
  NODE_ENV: 'production',
  JWT_SECRET: jwtSecret,
  PAYMENT_WEBHOOK_SECRET: `bench-${crypto.getRandomValues(new Uint8Array(24)).toHex()}`,
  DATABASE_URL: bench.url,
  REDIS_URL: redisUrl,
  REDIS_PREFIX: bench.prefix,
  RATE_LIMIT_ENABLED: 'false',
  LOG_LEVEL: 'warn',
  DATABASE_POOL_MAX: P.poolMax,
  WORKER_METRICS_PORT: '0',
  SCHEDULE_SALES_MS: '500',
  REQUEST_TIMEOUT_MS: '120000',
  DATABASE_ACQUIRE_TIMEOUT_MS: '120000',
}

async function cleanup() {
  for (const p of procs) p.kill('SIGTERM')
  await Promise.all([...procs].map((p) => Promise.race([p.exited, Bun.sleep(8000)])))
  for (const p of procs) p.kill('SIGKILL')
  rmSync(tokensFile, { force: true })
  await sql.end({ timeout: 5 }).catch(() => {})
  await bench.drop()
  const { dropPrefix } = await import('../src/infra/redis')
  await dropPrefix(redisUrl, bench.prefix)
}

async function productWithStock(stock: number): Promise<string> {
  return db.transaction(async (tx) => {
    const [p] = await tx
      .insert(products)
      .values({ name: `Drop ${Bun.randomUUIDv7().slice(-6)}`, priceCents: 19999 })
      .returning()
    if (!p) throw new Error('product insert failed')
    await createInventory(tx, p.id, stock)
    return p.id
  })
}

type WrkResult = {
  target: string
  requestsPerSec: number
  requests: number
  statuses: string
  latencyP99Ms: number | null
  /** CPU of the server process per request (µs): robust to other load on the box, unlike req/s. */
  serverCpuUsPerRequest: number
}

/** wrk, 64 connections, closed loop; `lua` sets method, body and headers (fresh Idempotency-Key per request). */
async function wrk(target: string, url: string, lua: string | null, serverPid: number): Promise<WrkResult> {
  const script = lua ? resolve(out, `wrk-${bench.runId}-${target.replace(/[^a-z0-9]+/gi, '-')}.tmp.lua`) : null
  if (script && lua) await Bun.write(script, lua)
  const p = Bun.spawn(['wrk', '-t2', '-c64', `-d${P.wrkSeconds}s`, '--latency', ...(script ? ['-s', script] : []), url], {
    stdout: 'pipe',
    stderr: 'inherit',
  })
  const cpuBefore = cpuMs(serverPid)
  const text = await new Response(p.stdout).text()
  await p.exited
  const cpu = cpuMs(serverPid) - cpuBefore
  if (script) rmSync(script, { force: true })
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? 0)
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(text)
  const latencyP99Ms = p99 ? Number(p99[1]) * (p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1) : null
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(text)?.[1] ?? '0'
  const requests = Number(/(\d+) requests in/.exec(text)?.[1] ?? 0)
  return {
    target,
    requestsPerSec: rps,
    requests,
    statuses: `non-2xx: ${non2xx}`,
    latencyP99Ms,
    serverCpuUsPerRequest: requests ? (cpu * 1000) / requests : 0,
  }
}

const postLua = (path: string, body: string, token: string) => `
wrk.method = "POST"
wrk.body = '${body}'
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = "Bearer ${token}"
local n = 0
request = function()
  n = n + 1
  return wrk.format(nil, "${path}", { ["idempotency-key"] = string.format("k-%d-%d-%d", math.random(1, 1e9), os.time(), n) })
end`

async function measureCapacity(urls: string[], apis: { proc: Bun.Subprocess }[], saleId: string, capacityToken: string) {
  const soldOutProduct = await productWithStock(0)
  // One refusal first so the sold-out answers come from the gate / local flag from the start.
  const orderPath = '/api/v1/orders'
  const salePath = `/api/v1/sales/${saleId}/orders`
  const barePort = 30000 + Math.floor(Math.random() * 1000)
  const bare = Bun.spawn(['bun', '-e', `Bun.serve({ port: ${barePort}, fetch: () => Response.json({ status: 'ok' }) })`], {
    stdout: 'ignore',
    stderr: 'inherit',
  })
  procs.add(bare)
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`http://127.0.0.1:${barePort}/`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break
    await Bun.sleep(50)
  }
  const api = urls[0] as string
  const apiPid = (apis[0] as { proc: Bun.Subprocess }).proc.pid
  for (const [path, body] of [
    [salePath, '{"quantity":1}'],
    [orderPath, `{"items":[{"productId":"${soldOutProduct}","quantity":1}]}`],
  ] as const) {
    const r = await fetch(`${api}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${capacityToken}`, 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
      body,
    })
    if (r.status !== 409) fail(`${path}: expected a sold-out 409, got ${r.status} ${await r.text()}`)
  }
  const capacity: WrkResult[] = []
  capacity.push(await wrk('bare Bun.serve', `http://127.0.0.1:${barePort}/`, null, bare.pid))
  capacity.push(await wrk('GET /health', `${api}/health`, null, apiPid))
  capacity.push(
    await wrk('sold-out POST /sales/:id/orders', `${api}${salePath}`, postLua(salePath, '{"quantity":1}', capacityToken), apiPid),
  )
  capacity.push(
    await wrk(
      'sold-out POST /orders',
      `${api}${orderPath}`,
      postLua(orderPath, `{"items":[{"productId":"${soldOutProduct}","quantity":1}]}`, capacityToken),
      apiPid,
    ),
  )
  capacity.push(await wrk('GET /health (again)', `${api}/health`, null, apiPid))
  const rps = (t: string) => capacity.find((c) => c.target === t)?.requestsPerSec ?? 0
  const health = (rps('GET /health') + rps('GET /health (again)')) / 2
  const ratios = {
    healthVsBare: health / rps('bare Bun.serve'),
    saleSoldOutVsHealth: rps('sold-out POST /sales/:id/orders') / health,
    ordersSoldOutVsHealth: rps('sold-out POST /orders') / health,
  }
  // The same ratios from the server's CPU per request (capacity if the server had the cores alone).
  const cpu = (t: string) => capacity.find((c) => c.target === t)?.serverCpuUsPerRequest ?? 0
  const healthCpu = (cpu('GET /health') + cpu('GET /health (again)')) / 2
  const cpuRatios = {
    healthVsBare: cpu('bare Bun.serve') / healthCpu,
    saleSoldOutVsHealth: healthCpu / cpu('sold-out POST /sales/:id/orders'),
    ordersSoldOutVsHealth: healthCpu / cpu('sold-out POST /orders'),
  }
  return { capacity, ratios, cpuRatios }
}

let failed = false
const fail = (why: string) => {
  failed = true
  console.error(`FAIL: ${why}`)
}

try {
  const load = { before: loadavg(), cores: cpus().length }
  // --- buyers (one multi-row insert) + tokens; one more buyer for the capacity run
  const ids = await sql<{ id: string }[]>`
    insert into users (id, email, name, password_hash, role)
    select gen_random_uuid(), 'buyer' || g || '@bench.local', 'Buyer ' || g, 'not-a-login', 'customer'
    from generate_series(1, ${P.vus + 1}) g returning id`
  const tokens = await Promise.all(ids.map((u) => signAccessToken(u.id, 'customer', 0)))
  const capacityToken = tokens.pop() as string
  await Bun.write(tokensFile, JSON.stringify(tokens))
  const [adminRow] = await sql<{ id: string }[]>`
    insert into users (id, email, name, password_hash, role) values (gen_random_uuid(), 'admin@bench.local', 'Admin', 'x', 'admin') returning id`
  const adminToken = await signAccessToken((adminRow as { id: string }).id, 'admin', 0)

  // --- 2 API instances + the worker
  const worker = Bun.spawn(['bun', resolve(root, 'src/index.ts')], {
    env: { ...process.env, ...appEnv, ROLE: 'worker' },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  procs.add(worker)
  const apis = await Promise.all(
    [0, 1].map((i) =>
      startBenchApi({ ...appEnv, WEB_CONCURRENCY: '1' }, { portBase: 20000 + i * 1000 }).then((a) => (procs.add(a.proc), a)),
    ),
  )
  const urls = apis.map((a) => a.base)
  // startBenchApi gives up waiting after 30 s; on a busy box the boot warm-up can take longer.
  for (const u of urls) {
    const until = Date.now() + 180_000
    while (
      !(await fetch(`${u}/health`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > until) throw new Error(`${u} did not come up`)
      await Bun.sleep(200)
    }
  }

  // --- the sale: opens far enough ahead for k6 to start every VU and poll first
  const productId = await productWithStock(P.units * 10)
  // A placeholder opening: k6's setup() reschedules it to LEAD_MS after every VU is initialised.
  const placeholder = new Date(Date.now() + 3_600_000)
  const created = await fetch(`${urls[0]}/api/v1/admin/sales`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      productId,
      salePriceCents: 9999,
      units: P.units,
      startsAt: placeholder.toISOString(),
      endsAt: new Date(placeholder.getTime() + 600_000).toISOString(),
      perCustomerLimit: 1,
    }),
  })
  if (created.status !== 201) throw new Error(`create sale: ${created.status} ${await created.text()}`)
  const saleId = ((await created.json()) as { id: string }).id

  const summaryFile = resolve(out, `sales-k6-${bench.runId}.tmp.json`)
  const k6 = Bun.spawn([k6Binary ?? 'k6', 'run', '--quiet', '--no-usage-report', resolve(root, 'bench/k6/sales.js')], {
    env: {
      ...process.env,
      ...k6Env,
      BASE_URLS: urls.join(','),
      SALE_ID: saleId,
      ADMIN_TOKEN: adminToken,
      LEAD_MS: '8000',
      TOKENS_FILE: tokensFile,
      VUS: String(P.vus),
      MAX_SECONDS: smoke ? '40' : '90',
      SUMMARY_FILE: summaryFile,
    },
    stdout: 'ignore',
    stderr: 'inherit',
  })
  await k6.exited
  const stampede = await Bun.file(summaryFile).json()
  rmSync(summaryFile, { force: true })
  const startsAt = new Date(stampede.startsAt)

  // --- what Postgres says
  const [facts] = await sql<{ orders: number; buyers: number; early: number; held: number; sold: number }[]>`
    select count(*)::int as orders, count(distinct o.user_id)::int as buyers,
      count(*) filter (where o.created_at < ${startsAt.toISOString()}::timestamptz)::int as early,
      (select held from sale_pools where sale_id = ${saleId}) as held, (select sold from sale_pools where sale_id = ${saleId}) as sold
    from sale_pool_orders p join orders o on o.id = p.order_id where p.sale_id = ${saleId}`
  const ledger = await checkInventory(sql)
  if (facts?.orders !== P.units) fail(`${facts?.orders} orders for ${P.units} units`)
  if (facts?.buyers !== P.units) fail(`${facts?.buyers} distinct buyers`)
  if (facts?.early) fail(`${facts.early} orders before the opening`)
  if (stampede.serverErrors) fail(`${stampede.serverErrors} 5xx`)
  if (stampede.connectionErrors) console.warn(`note: ${stampede.connectionErrors} requests failed at the connection (reset/EOF/timeout)`)
  if (ledger.mismatches.length) fail(`inventory:check: ${JSON.stringify(ledger.mismatches.slice(0, 5))}`)

  // --- closed-loop capacity, same run, same instance: bare Bun.serve, /health, sold-out POSTs.
  // A measurement, not a check: --smoke (CI) skips it (and so needs no wrk).
  const measured = smoke ? null : await measureCapacity(urls, apis, saleId, capacityToken)
  const result = {
    smoke,
    params: P,
    machine: { cores: load.cores, loadavgBefore: load.before, loadavgAfter: loadavg() },
    stampede: {
      ...stampede,
      orders: facts?.orders,
      distinctBuyers: facts?.buyers,
      ordersBeforeOpening: facts?.early,
      ledgerMismatches: ledger.mismatches.length,
    },
    ...(measured ?? { capacity: null, ratios: null, cpuRatios: null }),
    targets: { ratio: 0.8, met: measured ? Object.fromEntries(Object.entries(measured.ratios).map(([k, v]) => [k, v >= 0.8])) : null },
  }
  await Bun.write(resolve(out, smoke ? 'sales-smoke.json' : 'sales.json'), `${JSON.stringify(result, null, 2)}\n`)
  console.log(JSON.stringify(result, null, 2))
} catch (err) {
  fail((err as Error).stack ?? String(err))
} finally {
  await cleanup()
}
process.exit(failed ? 1 : 0)
