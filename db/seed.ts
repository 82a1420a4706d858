// Deterministic seed data: `bun run db:seed -- --products 10000 --users 5000 --orders 100000 --seed 42`.
// Catalog (category tree, products, inventory) → users → orders with planted co-purchase structure.
// Refuses a non-empty database unless --reset, and refuses --reset when NODE_ENV=production.
// The planted bundle pairs are written to DATA_DIR/seed-planted-pairs.json for scripts/eval-recs.ts,
// the fraud labels of the last day's checkout traffic to DATA_DIR/seed-risk-labels.json for
// scripts/eval-risk.ts (never into the database: the scorer must not see them).
import { parseArgs } from 'node:util'
import { seedCatalog } from './seed/catalog'
import { seedDemand } from './seed/demand'
import { seedOrders } from './seed/orders'
import { type RiskLabel, seedRiskTraffic } from './seed/risk'
import { seedUsers } from './seed/users'

export type SeedOptions = {
  products: number
  categories: number
  users: number
  orders: number
  seed: number
  reviews?: number
  /** products given a planted daily demand series (db/seed/demand.ts); default 0 */
  demand?: number
  /** normal checkouts in the last day (with IPs and payment outcomes), fraud planted among them; 0 = none */
  riskOrders?: number
  reset?: boolean
  now?: Date
}
export type SeedResult = {
  products: number
  categories: number
  reviews?: number
  users: number
  orders: number
  lines: number
  plantedPairs: [string, string][]
  riskOrders?: number
  riskLabels?: Record<string, RiskLabel>
  riskWindow?: { start: string; end: string }
  ms: number
}

export class SeedRefused extends Error {}

/** Tables with rows means "not empty": seeding on top of real data would mix the two. */
// biome-ignore lint/suspicious/noExplicitAny: postgres.js Sql
export async function databaseIsEmpty(sql: any): Promise<boolean> {
  const [row] =
    await sql`select not (exists(select 1 from products) or exists(select 1 from users) or exists(select 1 from orders) or exists(select 1 from categories)) as empty`
  return row.empty
}

/** Empties every application table (public schema; the migrations journal lives in schema drizzle). */
// biome-ignore lint/suspicious/noExplicitAny: postgres.js Sql
export async function wipe(sql: any): Promise<void> {
  const tables: { t: string }[] = await sql`select quote_ident(tablename) as t from pg_tables where schemaname = 'public'`
  if (tables.length) await sql.unsafe(`truncate ${tables.map((x) => x.t).join(', ')} restart identity cascade`)
}

// biome-ignore lint/suspicious/noExplicitAny: postgres.js Sql
export async function seed(sql: any, opts: SeedOptions, nodeEnv = 'development'): Promise<SeedResult> {
  const t0 = performance.now()
  if (opts.reset && nodeEnv === 'production') throw new SeedRefused('refusing --reset with NODE_ENV=production')
  if (!(await databaseIsEmpty(sql))) {
    if (!opts.reset) throw new SeedRefused('database is not empty; pass --reset to wipe it first (never in production)')
    await wipe(sql)
  }
  const now = opts.now ?? utcMidnight()
  // The catalog step also writes reviews and their authors (a fifth of the customers).
  const catalogOpts = {
    products: opts.products,
    categories: opts.categories,
    seed: opts.seed,
    now,
    reviews: opts.reviews ?? opts.products * 3,
    users: Math.max(1, Math.round(opts.users / 5)),
  }
  const catalog = await seedCatalog(sql, catalogOpts)
  const users = await seedUsers(sql, { users: opts.users, seed: opts.seed, now })
  // With risk traffic, the order history ends where the last day's scored traffic begins.
  const riskOrders = opts.riskOrders ?? 0
  const windowStart = new Date(now.getTime() - (riskOrders > 0 ? 86_400_000 : 0))
  const orders = await seedOrders(sql, { orders: opts.orders, seed: opts.seed, now: windowStart })
  const risk = riskOrders > 0 ? await seedRiskTraffic(sql, { orders: riskOrders, seed: opts.seed, windowStart }) : null
  if (opts.demand) await seedDemand(sql, { seed: opts.seed, now, products: opts.demand })
  await sql`analyze` // planner statistics (allowed inside a transaction, unlike vacuum)
  return {
    ...catalog,
    ...users,
    ...orders,
    ...(risk ? { riskOrders: risk.riskOrders, riskLabels: risk.labels, riskWindow: { start: risk.windowStart, end: risk.windowEnd } } : {}),
    ms: Math.round(performance.now() - t0),
  }
}

/** The anchor of every timestamp: today 00:00 UTC, so the same seed on the same day is identical. */
export function utcMidnight(d = new Date()): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()))
}

/** Demo data for the first zero-infra start (small, so boot stays quick). */
export async function seedDemo(): Promise<void> {
  const { sql } = await import('../src/infra/db')
  const { logger } = await import('../src/infra/logger')
  // Several processes may boot at once: one seeds, the others find the rows afterwards.
  const seeded = await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('stampede:seed'))`
    if (!(await databaseIsEmpty(tx))) return null
    return seed(tx, { products: 500, categories: 40, users: 200, orders: 3000, seed: 42, demand: 40 })
  })
  if (!seeded) return
  // Build the co-occurrence model now so "also bought" works before the first hourly rebuild.
  const { rebuildRecommendations } = await import('../src/modules/recommendations/service')
  const recs = await rebuildRecommendations()
  logger.info(
    { products: seeded.products, users: seeded.users, orders: seeded.orders, ms: seeded.ms, recsProducts: recs.products },
    'demo data seeded',
  )
}

const HELP = `Usage: bun run db:seed -- [options]

  --products N     products (default 10000)
  --categories N   categories incl. 12 roots (default 120)
  --users N        customers (default 5000)
  --orders N       orders, ~2.8 lines each (default 100000)
  --reviews N      reviews (default 3 × products)
  --demand N       products with a planted daily demand series for forecasting (default 200)
  --risk-orders N  normal checkouts in the last day, with planted fraud (default 20000; 0 = none)
  --seed N         PRNG seed; same seed + same day = same data (default 42)
  --reset          wipe every application table first (refused when NODE_ENV=production)
  --help           this text

Writes the planted "bought together" pairs to $DATA_DIR/seed-planted-pairs.json and the planted
fraud labels to $DATA_DIR/seed-risk-labels.json.`

if (import.meta.main) {
  // A batch load: its bulk inserts and the final vacuum may run longer than a request's statements
  // may (DATABASE_STATEMENT_TIMEOUT_MS); set before config is first read.
  process.env.DATABASE_STATEMENT_TIMEOUT_MS ??= '0'
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      products: { type: 'string', default: '10000' },
      categories: { type: 'string', default: '120' },
      users: { type: 'string', default: '5000' },
      orders: { type: 'string', default: '100000' },
      reviews: { type: 'string' },
      demand: { type: 'string', default: '200' },
      'risk-orders': { type: 'string', default: '20000' },
      seed: { type: 'string', default: '42' },
      reset: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  })
  if (values.help) {
    console.log(HELP)
    process.exit(0)
  }
  const num = (name: keyof typeof values, min: number) => {
    const n = Number(values[name])
    if (!Number.isInteger(n) || n < min) {
      console.error(`--${name} must be an integer ≥ ${min} (got '${values[name]}')`)
      process.exit(2)
    }
    return n
  }
  const opts: SeedOptions = {
    products: num('products', 2),
    categories: num('categories', 1),
    users: num('users', 1),
    orders: num('orders', 0),
    seed: num('seed', 0),
    reviews: values.reviews === undefined ? undefined : num('reviews', 0),
    demand: num('demand', 0),
    riskOrders: num('risk-orders', 0),
    reset: values.reset,
  }
  const { config } = await import('../src/config')
  const { resolveInfra, stopEmbedded } = await import('../src/infra/embedded')
  await resolveInfra()
  const { runMigrations } = await import('./migrate')
  await runMigrations(config.DATABASE_URL as string)
  const { sql, closeDb } = await import('../src/infra/db')
  try {
    const r = await seed(sql, opts, config.NODE_ENV)
    await sql`vacuum analyze` // visibility map too, as autovacuum would leave a live database
    const file = `${config.DATA_DIR}/seed-planted-pairs.json`
    await Bun.write(file, JSON.stringify({ seed: opts.seed, products: r.products, orders: r.orders, pairs: r.plantedPairs }))
    if (r.riskLabels)
      await Bun.write(
        `${config.DATA_DIR}/seed-risk-labels.json`,
        JSON.stringify({ seed: opts.seed, window: r.riskWindow, labels: r.riskLabels }),
      )
    console.log(
      `seeded ${r.categories} categories, ${r.products} products, ${r.users} users, ${r.orders} orders (${r.lines} lines), ${r.riskOrders ?? 0} scored checkouts (${Object.keys(r.riskLabels ?? {}).length} planted fraud) in ${(r.ms / 1000).toFixed(1)} s; planted pairs → ${file}`,
    )
  } catch (e) {
    if (!(e instanceof SeedRefused)) throw e
    console.error(`db:seed: ${e.message}`)
    process.exitCode = 1
  } finally {
    await closeDb()
    await stopEmbedded()
  }
}
