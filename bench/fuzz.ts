// `bun run bench:fuzz [-- --count 5000 --seed 19 --concurrency 8]`: the OpenAPI contract fuzz
// (bench/lib/openapi-fuzz.ts) at scale against a real API process over HTTP: fresh database,
// fixtures made through the API itself (a customer, an admin, products with stock, an order), then
// `count` generated requests. Writes bench/results/fuzz.json (statuses per operation and every
// failure class with an example) and exits 1 on any failure. Uses DATABASE_URL / REDIS_URL
// servers (defaults: local ones) and removes the database and Redis keys it created.
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import postgres from 'postgres'
import { dropPrefix } from '../src/infra/redis'
import type { Document } from '../src/plugins/openapi-document'
import { benchDatabase, startBenchApi } from './lib/instance'
import { describeFailure, type Failure, fuzz, type Send } from './lib/openapi-fuzz'

const root = resolve(import.meta.dir, '..')
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    count: { type: 'string', default: '5000' },
    seed: { type: 'string', default: '19' },
    concurrency: { type: 'string', default: '8' },
  },
})
const count = Number(values.count)
const seed = Number(values.seed)

const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const database = await benchDatabase('fuzz')
const { runId, prefix } = database
const benchUrl = database.url
let api: Bun.Subprocess | null = null
let failed = false

try {
  const started = await startBenchApi(
    {
      DATABASE_URL: benchUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      // Limits high enough that the fuzz reaches the handlers; 429 itself is checked by the
      // rate-limit tests.
      RATE_LIMIT_AUTH: '1000000/60',
      RATE_LIMIT_WRITE: '1000000/60',
      RATE_LIMIT_READ: '1000000/60',
      LOG_LEVEL: 'error',
    },
    { portBase: 4400 },
  )
  api = started.proc
  const base = started.base

  const send: Send = async (r) => {
    const res = await fetch(base + r.url, { method: r.method, headers: r.headers, body: r.body, redirect: 'manual' })
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() }
  }
  const call = async (method: string, url: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await send({ method, url, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
    if (res.status >= 300) throw new Error(`fixture ${method} ${url} → ${res.status} ${res.text}`)
    return JSON.parse(res.text)
  }
  const password = 'fuzz-Password-123'
  const customer = await call('POST', '/api/v1/auth/register', { email: `c-${runId}@fuzz.test`, password, name: 'Fuzz Customer' })
  const adminUser = await call('POST', '/api/v1/auth/register', { email: `a-${runId}@fuzz.test`, password, name: 'Fuzz Admin' })
  const sql = postgres(benchUrl, { max: 1, onnotice: () => {} })
  await sql`update users set role = 'admin' where id = ${adminUser.user.id}`
  await sql.end()
  const adminToken = (await call('POST', '/api/v1/auth/login', { email: `a-${runId}@fuzz.test`, password })).accessToken as string
  const auth = (token: string) => ({ authorization: `Bearer ${token}` })
  const ids = { product: [] as string[], order: [] as string[], user: [customer.user.id, adminUser.user.id], category: [] as string[] }
  // The last is the most expensive product allowed: two of them overflow a 32-bit order total.
  for (const [i, [stock, priceCents]] of [
    [50, 1999],
    [5, 2999],
    [1_000_000, 2_000_000_000],
  ].entries()) {
    const p = await call('POST', '/api/v1/products', { name: `Fuzz product ${i}`, priceCents, currency: 'USD' }, auth(adminToken))
    await call('POST', `/api/v1/inventory/${p.id}/restock`, { quantity: stock }, auth(adminToken))
    ids.product.push(p.id)
  }
  const category = await call('POST', '/api/v1/categories', { name: 'Fuzz', slug: `fuzz-${runId}` }, auth(adminToken))
  ids.category.push(category.id)
  const order = await call(
    'POST',
    '/api/v1/orders',
    { items: [{ productId: ids.product[0], quantity: 1 }] },
    {
      ...auth(customer.accessToken),
      'idempotency-key': `fuzz-${runId}`,
    },
  )
  ids.order.push(order.id)

  const doc = (await (await fetch(`${base}/swagger/json`)).json()) as Document
  const t0 = performance.now()
  const report = await fuzz(
    doc,
    send,
    { tokens: { customer: customer.accessToken, admin: adminToken }, ids },
    {
      seed,
      count,
      concurrency: Number(values.concurrency),
    },
  )
  const seconds = (performance.now() - t0) / 1000

  // One entry per kind of failure (operation, status, what is wrong), with a count and an example.
  const classes = new Map<string, { count: number; example: Failure }>()
  for (const f of report.failures) {
    const key = `${f.operation} → ${f.status}: ${f.problem.replace(/\(documented.*\)$/, '').slice(0, 120)}`
    const c = classes.get(key)
    if (c) c.count++
    else classes.set(key, { count: 1, example: f })
  }
  const out = {
    benchmark: 'fuzz',
    at: new Date().toISOString(),
    seed,
    count,
    requests: report.requests,
    unsendable: report.unsendable,
    seconds: Math.round(seconds * 10) / 10,
    failures: report.failures.length,
    failureClasses: [...classes].map(([kind, c]) => ({ kind, count: c.count, example: describeFailure(c.example) })),
    byStatus: report.byStatus,
    byOperation: report.byOperation,
  }
  mkdirSync(resolve(root, 'bench/results'), { recursive: true })
  await Bun.write(resolve(root, 'bench/results/fuzz.json'), `${JSON.stringify(out, null, 2)}\n`)
  console.log(`${report.requests} requests in ${out.seconds} s (seed ${seed}); statuses ${JSON.stringify(report.byStatus)}`)
  for (const c of out.failureClasses) console.log(`${c.count} × ${c.example}`)
  console.log(`${report.failures.length} failures in ${out.failureClasses.length} classes; bench/results/fuzz.json written`)
  failed = report.failures.length > 0
} finally {
  if (api) {
    api.kill('SIGTERM')
    await api.exited
  }
  await database.drop()
  await dropPrefix(redisUrl, prefix)
}
process.exit(failed ? 1 : 0)
