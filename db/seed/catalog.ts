// Deterministic catalog generator: a category tree, products with brands and descriptions,
// inventory rows, seed users and reviews. Same --seed → same names, prices, ids, reviews (timestamps
// are relative to the run so the recency term of the ranking stays meaningful). Rows are built in
// JS and inserted with `insert … select * from unnest(arrays)`: one statement per 5,000 rows.
import type postgres from 'postgres'
import { mulberry32 } from './prng'
import { ADJECTIVES, BRANDS, COLORS, DEPARTMENTS, FEATURES, NOUNS, SUBJECTS, USES } from './words'

export type CatalogSeedOptions = {
  products: number
  categories: number
  reviews: number
  users: number
  seed: number
  /** Anchor of every relative timestamp (same seed + same anchor = same data). */
  now?: Date
}
export type SeedReport = { categories: number; products: number; users: number; reviews: number; ms: number }

export const SEED_EMAIL_DOMAIN = 'seed.stampede.local'
/** Every seed user can sign in with this password (hashed once per run with Argon2id). */
export const SEED_PASSWORD = 'seed-password'

/** mulberry32 (db/seed/prng.ts): small, fast, good enough for test data, and deterministic. */
export const rng = mulberry32

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T

/** A UUIDv7-shaped id from a fixed clock (base + n ms) and PRNG bits: deterministic and time-ordered. */
function uuidv7(r: () => number, n: number, base = Date.UTC(2026, 0, 1)): string {
  const ts = (base + n).toString(16).padStart(12, '0')
  const hex = (len: number) => Array.from({ length: len }, () => Math.floor(r() * 16).toString(16)).join('')
  const variant = (8 + Math.floor(r() * 4)).toString(16)
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${hex(3)}-${variant}${hex(3)}-${hex(12)}`
}

function description(r: () => number, name: string): string {
  const f1 = pick(r, FEATURES)
  let f2: string = pick(r, FEATURES)
  if (f2 === f1) f2 = FEATURES[(FEATURES.indexOf(f1) + 1) % FEATURES.length] as string
  return `The ${name} comes in ${pick(r, COLORS)} with ${f1} and ${f2}. Designed for ${pick(r, USES)}.`
}

const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')

type Sql = postgres.Sql | postgres.TransactionSql
const BATCH = 5000

export async function insertColumns(sql: Sql, table: string, columns: [name: string, type: string, values: unknown[]][]): Promise<void> {
  const n = columns[0]?.[2].length ?? 0
  for (let from = 0; from < n; from += BATCH) {
    const to = Math.min(n, from + BATCH)
    const params = columns.map(([, , values]) => values.slice(from, to))
    const list = columns.map(([name]) => name).join(', ')
    // Timestamps travel as text[]: Drizzle's postgres-js driver replaces the timestamp serializers of
    // the app's client with pass-through ones, which cannot serialise a timestamptz[] parameter.
    const wire = (type: string) => (type === 'timestamptz' ? 'text' : type)
    const unnest = columns.map(([, type], i) => `$${i + 1}::${wire(type)}[]`).join(', ')
    const cols = columns.map(([, type], i) => `c${i}::${type}`).join(', ')
    const alias = columns.map((_, i) => `c${i}`).join(', ')
    await sql.unsafe(`insert into ${table} (${list}) select ${cols} from unnest(${unnest}) as x(${alias})`, params as never[])
  }
}

export async function seedCatalog(sql: Sql, o: CatalogSeedOptions): Promise<SeedReport> {
  const t0 = performance.now()
  const r = rng(o.seed)
  const now = (o.now ?? new Date()).getTime()

  // --- categories: ~10 % roots (departments), the rest hang below an earlier category, depth ≤ 3
  const cat = { id: [] as string[], name: [] as string[], slug: [] as string[], parent: [] as (string | null)[] }
  const depth: number[] = []
  const roots = Math.max(1, Math.min(DEPARTMENTS.length, Math.ceil(o.categories / 10)))
  for (let i = 0; i < o.categories; i++) {
    let parent: number | null = null
    if (i >= roots) {
      do parent = Math.floor(r() * i)
      while ((depth[parent] ?? 0) >= 2)
    }
    const name: string = parent === null ? (DEPARTMENTS[i] as string) : `${pick(r, ADJECTIVES)} ${pick(r, SUBJECTS)}`
    cat.id.push(uuidv7(r, i))
    cat.name.push(name)
    cat.slug.push(`${slug(name)}-${i}`)
    cat.parent.push(parent === null ? null : (cat.id[parent] as string))
    depth.push(parent === null ? 0 : (depth[parent] ?? 0) + 1)
  }

  // --- products (ratings aggregated from the reviews generated below, before insert)
  const n = o.products
  const p = {
    id: [] as string[],
    name: [] as string[],
    description: [] as string[],
    brand: [] as string[],
    price: [] as number[],
    categoryId: [] as (string | null)[],
    categoryName: [] as string[],
    purchases: [] as number[],
    createdAt: [] as string[],
    quality: [] as number[],
  }
  for (let i = 0; i < n; i++) {
    const brand = pick(r, BRANDS)
    const name = `${brand} ${pick(r, ADJECTIVES)} ${pick(r, NOUNS)} ${String.fromCharCode(65 + Math.floor(r() * 26))}${100 + Math.floor(r() * 900)}`
    const c = o.categories > 0 ? Math.floor(r() * o.categories) : -1
    p.id.push(uuidv7(r, i, Date.UTC(2026, 1, 1)))
    p.name.push(name)
    p.description.push(description(r, name))
    p.brand.push(brand)
    p.price.push(Math.round(5 + r() ** 2 * 995) * 100 - 1)
    p.categoryId.push(c >= 0 ? (cat.id[c] as string) : null)
    p.categoryName.push(c >= 0 ? (cat.name[c] as string) : '')
    // Long tail: most products sell a little, a few sell a lot.
    p.purchases.push(Math.floor(r() ** 6 * 5000))
    p.createdAt.push(new Date(now - Math.floor(r() * 180 * 86400_000)).toISOString())
    p.quality.push(2.5 + r() * 2.5)
  }

  // --- users (needed by reviews); one Argon2id hash shared by all
  const passwordHash = await Bun.password.hash(SEED_PASSWORD, { algorithm: 'argon2id', memoryCost: 19456, timeCost: 2 })
  const u = { id: [] as string[], email: [] as string[], name: [] as string[] }
  for (let i = 0; i < o.users; i++) {
    u.id.push(uuidv7(r, i, Date.UTC(2025, 11, 1)))
    u.email.push(`seed-${i}@${SEED_EMAIL_DOMAIN}`)
    u.name.push(`Seed User ${i}`)
  }

  // --- reviews: unique (product, user); popular products get more; rating ≈ product quality ± noise
  const rv = {
    id: [] as string[],
    product: [] as string[],
    user: [] as number[],
    rating: [] as number[],
    verified: [] as boolean[],
    at: [] as string[],
  }
  const ratingCount = new Int32Array(n)
  const ratingSum = new Int32Array(n)
  if (n > 0 && o.users > 0) {
    const seen = new Set<number>()
    const target = Math.min(o.reviews, n * o.users)
    for (let attempts = 0; rv.id.length < target && attempts < target * 5; attempts++) {
      const pi = Math.floor(r() ** 2 * n)
      const ui = Math.floor(r() * o.users)
      const pair = pi * o.users + ui
      if (seen.has(pair)) continue
      seen.add(pair)
      const rating = Math.max(1, Math.min(5, Math.round((p.quality[pi] as number) + (r() + r() - 1) * 1.5)))
      rv.id.push(uuidv7(r, rv.id.length, Date.UTC(2026, 2, 1)))
      rv.product.push(p.id[pi] as string)
      rv.user.push(ui)
      rv.rating.push(rating)
      rv.verified.push(r() < 0.7)
      rv.at.push(new Date(now - Math.floor(r() * 90 * 86400_000)).toISOString())
      ratingCount[pi] = (ratingCount[pi] ?? 0) + 1
      ratingSum[pi] = (ratingSum[pi] ?? 0) + rating
    }
  }

  await insertColumns(sql, 'categories', [
    ['id', 'uuid', cat.id],
    ['name', 'text', cat.name],
    ['slug', 'text', cat.slug],
    ['parent_id', 'uuid', cat.parent],
  ])
  await insertColumns(sql, 'products', [
    ['id', 'uuid', p.id],
    ['name', 'text', p.name],
    ['description', 'text', p.description],
    ['brand', 'text', p.brand],
    ['price_cents', 'int', p.price],
    ['category_id', 'uuid', p.categoryId],
    ['category_name', 'text', p.categoryName],
    ['rating_count', 'int', Array.from(ratingCount)],
    ['rating_sum', 'int', Array.from(ratingSum)],
    ['purchase_count', 'int', p.purchases],
    ['created_at', 'timestamptz', p.createdAt],
    ['updated_at', 'timestamptz', p.createdAt],
  ])
  // Stock: mostly in stock, ~8 % sold out; every unit enters through a 'restock' ledger row so
  // `bun run inventory:check` agrees with the counters.
  const onHand = p.id.map(() => (r() < 0.08 ? 0 : 1 + Math.floor(r() * 200)))
  await insertColumns(sql, 'inventory', [
    ['product_id', 'uuid', p.id],
    ['on_hand', 'int', onHand],
  ])
  const stocked = p.id.flatMap((id, i) => ((onHand[i] as number) > 0 ? [i] : []))
  await insertColumns(sql, 'inventory_movements', [
    ['id', 'uuid', stocked.map((i) => uuidv7(r, i, Date.UTC(2026, 1, 2)))],
    ['product_id', 'uuid', stocked.map((i) => p.id[i] as string)],
    ['kind', 'text', stocked.map(() => 'restock')],
    ['on_hand_delta', 'int', stocked.map((i) => onHand[i] as number)],
    ['reserved_delta', 'int', stocked.map(() => 0)],
    ['reason', 'text', stocked.map(() => 'seed')],
    ['created_at', 'timestamptz', stocked.map((i) => p.createdAt[i] as string)],
  ])
  await sql.unsafe(
    `insert into users (id, email, name, password_hash) select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
     on conflict (email) do nothing`,
    [u.id, u.email, u.name, u.id.map(() => passwordHash)] as never[],
  )
  // Seed users left over from an earlier run keep their ids: map by email.
  const existing = await sql<{ id: string; email: string }[]>`select id, email from users where email like ${`%@${SEED_EMAIL_DOMAIN}`}`
  const idByEmail = new Map(existing.map((x) => [x.email, x.id]))
  await insertColumns(sql, 'reviews', [
    ['id', 'uuid', rv.id],
    ['product_id', 'uuid', rv.product],
    ['user_id', 'uuid', rv.user.map((ui) => idByEmail.get(u.email[ui] as string) ?? u.id[ui])],
    ['rating', 'smallint', rv.rating],
    ['verified_purchase', 'boolean', rv.verified.map((v) => (v ? 'true' : 'false'))],
    ['created_at', 'timestamptz', rv.at],
  ])
  await sql`analyze categories, products, inventory, reviews`
  return { categories: cat.id.length, products: n, users: u.id.length, reviews: rv.id.length, ms: Math.round(performance.now() - t0) }
}
