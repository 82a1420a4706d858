// Seed: N customers with the seed password (SEED_PASSWORD, "seed-password"), hashed once — hashing
// 5,000 Argon2id passwords would dominate the seed's run time for no benefit.
import { SEED_PASSWORD } from './catalog'
import { insertChunked, rng } from './prng'

const FIRST = [
  'Ada',
  'Alan',
  'Grace',
  'Linus',
  'Margaret',
  'Dennis',
  'Barbara',
  'Ken',
  'Frances',
  'Edsger',
  'Radia',
  'Donald',
  'Hedy',
  'John',
  'Katherine',
  'Tim',
  'Anita',
  'Guido',
  'Shafi',
  'Niklaus',
]
const LAST = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Torvalds',
  'Hamilton',
  'Ritchie',
  'Liskov',
  'Thompson',
  'Allen',
  'Dijkstra',
  'Perlman',
  'Knuth',
  'Lamarr',
  'McCarthy',
  'Johnson',
  'Berners-Lee',
  'Borg',
  'van Rossum',
  'Goldwasser',
  'Wirth',
]

export type SeedUsersOptions = { users: number; seed: number; now?: Date }

// biome-ignore lint/suspicious/noExplicitAny: postgres.js Sql or TransactionSql
export async function seedUsers(sql: any, opts: SeedUsersOptions): Promise<{ users: number }> {
  const r = rng(opts.seed, 'users')
  const now = (opts.now ?? new Date()).getTime()
  const passwordHash = await Bun.password.hash(SEED_PASSWORD, { algorithm: 'argon2id', memoryCost: 4096, timeCost: 1 })
  const rows: Record<string, unknown>[] = []
  for (let i = 0; i < opts.users; i++) {
    const createdAt = new Date(now - (200 + r.next() * 500) * 86_400_000)
    const first = r.pick(FIRST)
    const last = r.pick(LAST)
    rows.push({
      id: r.uuidv7(createdAt.getTime()),
      email: `seed-user-${i + 1}@example.com`,
      name: `${first} ${last}`,
      password_hash: passwordHash,
      role: 'customer',
      created_at: createdAt,
      updated_at: createdAt,
    })
  }
  await insertChunked(sql, 'users', rows)
  return { users: rows.length }
}
