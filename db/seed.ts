// Seed CLI and the demo seed. `bun run db:seed -- --products 100000 --categories 200 --reviews 300000
// --users 3000 --seed 42 [--reset]`. Refuses to touch a database that already has a catalog unless
// --reset is given, and refuses --reset when NODE_ENV=production. Parts live in db/seed/*.ts.
import { parseArgs } from 'node:util'
import type postgres from 'postgres'
import { type CatalogSeedOptions, catalogHasData, resetCatalog, seedCatalog } from './seed/catalog'

export const DEMO: CatalogSeedOptions = { products: 200, categories: 20, reviews: 600, users: 50, seed: 42 }

/** Seeds a small demo catalog on the first embedded start (no-op when a catalog exists). */
export async function seedDemo(): Promise<void> {
  const { sql } = await import('../src/infra/db')
  const { logger } = await import('../src/infra/logger')
  await sql.begin(async (tx) => {
    // Several processes may boot at once: one seeds, the others see the rows afterwards.
    await tx`select pg_advisory_xact_lock(hashtext('stampede:seed'))`
    if (await catalogHasData(tx)) return
    const report = await seedCatalog(tx, DEMO)
    logger.info(report, 'seeded demo catalog')
  })
}

export async function runSeed(sql: postgres.Sql, opts: CatalogSeedOptions & { reset: boolean }, nodeEnv: string) {
  if (opts.reset && nodeEnv === 'production') throw new Error('refusing --reset with NODE_ENV=production')
  if (await catalogHasData(sql)) {
    if (!opts.reset)
      throw new Error('the database already has a catalog; pass --reset to wipe it (catalog, reviews, inventory, seed users) first')
    await resetCatalog(sql)
  }
  return seedCatalog(sql, opts)
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: {
      products: { type: 'string', default: '1000' },
      categories: { type: 'string', default: '50' },
      reviews: { type: 'string' },
      users: { type: 'string' },
      seed: { type: 'string', default: '42' },
      reset: { type: 'boolean', default: false },
    },
  })
  const int = (name: string, v: string | undefined, min = 0) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min) {
      console.error(`--${name} must be an integer ≥ ${min} (got ${v})`)
      process.exit(2)
    }
    return n
  }
  const products = int('products', values.products)
  const opts = {
    products,
    categories: int('categories', values.categories, 1),
    reviews: int('reviews', values.reviews ?? String(products * 3)),
    users: int('users', values.users ?? '3000'),
    seed: int('seed', values.seed),
    reset: values.reset ?? false,
  }
  const { config } = await import('../src/config')
  const { resolveInfra, stopEmbedded } = await import('../src/infra/embedded')
  const { runMigrations } = await import('./migrate')
  const { default: postgres } = await import('postgres')
  await resolveInfra()
  await runMigrations(config.DATABASE_URL as string)
  const sql = postgres(config.DATABASE_URL as string, { max: 4, onnotice: () => {} })
  try {
    const report = await runSeed(sql, opts, config.NODE_ENV)
    console.log(
      `seeded ${report.categories} categories, ${report.products} products, ${report.users} users, ${report.reviews} reviews in ${report.ms} ms`,
    )
  } catch (e) {
    console.error(`seed: ${(e as Error).message}`)
    process.exitCode = 1
  } finally {
    await sql.end()
    await stopEmbedded()
  }
}
