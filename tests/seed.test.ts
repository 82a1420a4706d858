// The seed generator: deterministic for a given --seed, refuses to wipe without --reset, and the
// demo seed fills an empty database once. Runs against a database of its own.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import { runMigrations } from '../db/migrate'
import { type SeedOptions, seed } from '../db/seed'
import { SEED_PASSWORD } from '../db/seed/catalog'

const server = process.env.TEST_SERVER_DATABASE_URL ?? process.env.DATABASE_URL ?? ''
const name = `stampede_seedtest_${Date.now().toString(36)}`
const withDb = (url: string, db: string) => Object.assign(new URL(url), { pathname: `/${db}` }).toString()
let admin: postgres.Sql
let sql: postgres.Sql

beforeAll(async () => {
  admin = postgres(withDb(server, 'postgres'), { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${name}"`)
  await runMigrations(withDb(server, name))
  sql = postgres(withDb(server, name), { max: 2, onnotice: () => {} })
  // Wrapped like the app's client (seedDemo runs on it): Drizzle swaps the client's timestamp
  // serializers, which the bulk inserts must survive.
  drizzle({ client: sql })
})
afterAll(async () => {
  await sql?.end()
  await admin.unsafe(`drop database if exists "${name}" with (force)`)
  await admin.end()
})

const opts = { products: 300, categories: 15, reviews: 900, users: 40, orders: 200, seed: 7 }
const runSeed = (db: postgres.Sql, o: SeedOptions, env: string) => seed(db, o, env)
const fingerprint = async () => {
  const [row] = await sql`
    select (select md5(string_agg(id::text || name || price_cents || rating_count || rating_sum || purchase_count || category_name, ',' order by id)) from products) as p,
           (select md5(string_agg(id::text || name || coalesce(parent_id::text, ''), ',' order by id)) from categories) as c,
           (select count(*)::int from reviews) as r`
  return row
}

describe('seed', () => {
  test('generates a consistent catalog: tree, inventory, exact rating aggregates, users who can sign in', async () => {
    const report = await runSeed(sql, { ...opts, reset: false }, 'test')
    expect(report).toMatchObject({ categories: 15, products: 300, users: 40 })
    expect(report.reviews).toBeGreaterThan(800)
    const [agg] = await sql`
      select (select count(*)::int from products p where rating_count <> (select count(*) from reviews r where r.product_id = p.id)
                or rating_sum <> (select coalesce(sum(rating), 0) from reviews r where r.product_id = p.id)) as wrong,
             (select count(*)::int from inventory) as inv,
             (select count(*)::int from categories where parent_id is null) as roots`
    expect(agg).toEqual({ wrong: 0, inv: 300, roots: 2 })
    const [u] = await sql`select password_hash from users where email = 'seed-0@seed.stampede.local'`
    expect(await Bun.password.verify(SEED_PASSWORD, u?.password_hash)).toBe(true)
  })

  test('refuses to run on existing data without --reset; --reset with the same seed reproduces it exactly', async () => {
    const before = await fingerprint()
    await expect(runSeed(sql, { ...opts, reset: false }, 'test')).rejects.toThrow('--reset')
    await runSeed(sql, { ...opts, reset: true }, 'test')
    expect(await fingerprint()).toEqual(before)
    await runSeed(sql, { ...opts, seed: 8, reset: true }, 'test')
    expect((await fingerprint())?.p).not.toBe(before?.p)
  })

  test('refuses --reset in production', async () => {
    await expect(runSeed(sql, { ...opts, reset: true }, 'production')).rejects.toThrow('production')
  })
})
