// `bun run bench:risk-cpu`: what fraud scoring adds to a checkout, in CPU time of the process that
// serves it. One process, one database, the same warm app: blocks of checkouts alternate scoring
// on and off (RISK_ENABLED flipped between blocks), so drift and machine noise fall on both sides
// alike; CPU is process.cpuUsage() (user + system, every thread) per order. Also times the scorer
// alone. Every checkout carries a client IP (X-Forwarded-For, TRUST_PROXY) so the IP windows run.
// Needs DATABASE_URL / REDIS_URL; makes and drops its own database and Redis prefix.
// Writes bench/results/risk-cpu.json. env: BLOCKS (default 12), PER_BLOCK (300), CONCURRENCY (8).
import postgres from 'postgres'

const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const dbName = `stampede_risk_cpu_${process.pid}`
const admin = postgres(base, { max: 1, onnotice: () => {} })
await admin.unsafe(`create database ${dbName}`)
const url = new URL(base)
url.pathname = `/${dbName}`
Object.assign(process.env, {
  DATABASE_URL: url.toString(),
  REDIS_PREFIX: `stampede-risk-cpu-${process.pid}`,
  TRUST_PROXY: 'true',
  RATE_LIMIT_ENABLED: 'false',
  LOG_LEVEL: 'warn',
  JOBS_ENABLED: 'false',
  WARMUP_ROUNDS: '0',
})
const BLOCKS = Number(process.env.BLOCKS ?? 12)
const PER_BLOCK = Number(process.env.PER_BLOCK ?? 300)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 8)

const { runMigrations } = await import('../db/migrate')
await runMigrations(url.toString())
const { config } = await import('../src/config')
const { app } = await import('../src/app')
const { db, closeDb } = await import('../src/infra/db')
const { closeRedis, deleteByPrefix, redis } = await import('../src/infra/redis')
const { products, users } = await import('../db/schema')
const { createInventory } = await import('../src/modules/inventory/service')
const { signAccessToken } = await import('../src/plugins/auth')
const { scoreOrder } = await import('../src/modules/risk/score')
const { DEFAULT_RULES } = await import('../src/modules/risk/rules')
const { assessCheckout } = await import('../src/modules/risk/service')

try {
  const productId = await db.transaction(async (tx) => {
    const [p] = await tx.insert(products).values({ name: 'risk-cpu', priceCents: 2500 }).returning()
    await createInventory(tx, p!.id, 10_000_000)
    return p!.id
  })
  // Enough buyers that none reaches the velocity thresholds: the common, accepted checkout.
  const buyers = await db
    .insert(users)
    .values(Array.from({ length: 2000 }, (_, i) => ({ email: `cpu-${i}@bench.local`, name: 'b', passwordHash: 'x' })))
    .returning({ id: users.id })
  const tokens = await Promise.all(buyers.map((b) => signAccessToken(b.id, 'customer', 0)))
  let n = 0
  const checkout = async () => {
    const i = n++
    const res = await app.handle(
      new Request('http://localhost/api/v1/orders', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tokens[i % tokens.length]}`,
          'content-type': 'application/json',
          'idempotency-key': crypto.randomUUID(),
          'x-forwarded-for': `203.0.${(i >> 8) & 255}.${i & 255}`,
        },
        body: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
      }),
    )
    await res.arrayBuffer()
    if (res.status !== 201) throw new Error(`checkout answered ${res.status}`)
  }
  const run = async (count: number) => {
    let left = count
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (left-- > 0) await checkout()
      }),
    )
  }
  await run(400) // warm-up: JIT, pools, prepared statements, rule cache
  const perOrder: Record<'on' | 'off', number[]> = { on: [], off: [] }
  const wall: Record<'on' | 'off', number[]> = { on: [], off: [] }
  for (let b = 0; b < BLOCKS; b++) {
    const mode = b % 2 === 0 ? 'on' : 'off'
    ;(config as { RISK_ENABLED: boolean }).RISK_ENABLED = mode === 'on'
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    await run(PER_BLOCK)
    const c = process.cpuUsage(c0)
    wall[mode].push((performance.now() - t0) / PER_BLOCK)
    perOrder[mode].push((c.user + c.system) / PER_BLOCK)
  }
  // The scorer alone (pure arithmetic over gathered features).
  const f = {
    degraded: false,
    accountAgeSeconds: 9e6,
    customer: { n: 8, mean: 7.5, m2: 3 },
    shop: { n: 5000, mean: 8, m2: 4000 },
    customerOrders: 2,
    customerFailed: 0,
    customerMethods: 1,
    customerDeclines: 0,
    ipOrders: 3,
    ipFailed: 0,
    ipAccounts: 2,
    ipNewAccounts: 0,
    newIp: false,
    newPaymentMethod: false,
  }
  const s0 = process.cpuUsage()
  for (let i = 0; i < 100_000; i++) scoreOrder(f, { amountCents: 2500 + (i & 1023), quantity: 1 }, DEFAULT_RULES)
  const s = process.cpuUsage(s0)
  // One checkout's scoring step alone (the Redis script call, the rules, the scorer), sequentially.
  ;(config as { RISK_ENABLED: boolean }).RISK_ENABLED = true
  const a0 = process.cpuUsage()
  const ASSESS = 2000
  for (let i = 0; i < ASSESS; i++)
    await assessCheckout({
      orderId: Bun.randomUUIDv7(),
      userId: buyers[i % buyers.length]!.id,
      ip: `198.51.${(i >> 8) & 255}.${i & 255}`,
      currency: 'USD',
      amountCents: 2500,
      quantity: 1,
    })
  const a = process.cpuUsage(a0)
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
  const on = median(perOrder.on)
  const off = median(perOrder.off)
  const result = {
    cpuUsPerOrder: { scoringOn: Math.round(on), scoringOff: Math.round(off) },
    overheadPct: Math.round(((on - off) / off) * 1000) / 10,
    wallMsPerOrder: { scoringOn: Math.round(median(wall.on) * 100) / 100, scoringOff: Math.round(median(wall.off) * 100) / 100 },
    scorerAloneUs: Math.round(((s.user + s.system) / 100_000) * 100) / 100,
    assessCheckoutAloneUs: Math.round((a.user + a.system) / ASSESS),
    blocks: BLOCKS,
    perBlock: PER_BLOCK,
    concurrency: CONCURRENCY,
    samplesUs: { on: perOrder.on.map(Math.round), off: perOrder.off.map(Math.round) },
    note: 'in-process CPU of the API process (postgres.js, ioredis, Elysia, the scorer); the Redis script runs in redis-server and is not included',
  }
  console.log(
    `checkout CPU per order: scoring on ${result.cpuUsPerOrder.scoringOn} µs, off ${result.cpuUsPerOrder.scoringOff} µs → +${result.overheadPct} % (median of ${BLOCKS / 2} alternating blocks of ${PER_BLOCK}); scoring step alone ${result.assessCheckoutAloneUs} µs, scorer alone ${result.scorerAloneUs} µs`,
  )
  await Bun.write('bench/results/risk-cpu.json', `${JSON.stringify(result, null, 2)}\n`)
} finally {
  const r = redis()
  if (r) await deleteByPrefix(r, config.REDIS_PREFIX).catch(() => {})
  await closeRedis()
  await closeDb()
  await admin.unsafe(`drop database if exists ${dbName} with (force)`)
  await admin.end()
}
