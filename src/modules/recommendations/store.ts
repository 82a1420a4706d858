// Where the co-occurrence model lives: Postgres `product_neighbours` is the durable copy, Redis
// sorted sets key('cooccurrence', productId) (member = neighbour id, score = similarity) the fast
// one. Reads try Redis, fall back to Postgres for missing keys and put them back.
import { config } from '../../config'
import { sql } from '../../infra/db'
import { cacheEvents } from '../../infra/metrics'
import { key, withRedis } from '../../infra/redis'
import { jitteredTtlMs } from '../../lib/cache-aside'
import type { Neighbour } from './cooccurrence'

/** Sentinel member: "this product has no neighbours", so an empty list is not mistaken for a lost key. */
const EMPTY = '~'

export type Scored = { id: string; score: number }

/** Writes (replaces) the sorted sets of these products; a product with an empty list gets the sentinel. */
export async function writeNeighboursToRedis(lists: Iterable<[string, readonly Scored[]]>): Promise<boolean> {
  return withRedis(
    async (r) => {
      let m = r.multi()
      let n = 0
      for (const [productId, list] of lists) {
        const k = key('cooccurrence', productId)
        m.del(k)
        if (list.length) m.zadd(k, ...list.flatMap((x) => [x.score, x.id]))
        else m.zadd(k, 0, EMPTY)
        m.pexpire(k, jitteredTtlMs(config.RECS_REDIS_TTL_SECONDS))
        if (++n % 500 === 0) {
          await m.exec()
          m = r.multi()
        }
      }
      await m.exec()
      return true
    },
    () => false,
  )
}

/** Neighbours of each product, best first (only products found in neither store are absent). */
export async function readNeighbours(productIds: readonly string[]): Promise<Map<string, Scored[]>> {
  const out = new Map<string, Scored[]>()
  if (productIds.length === 0) return out
  await withRedis(
    async (r) => {
      const p = r.pipeline()
      for (const id of productIds) p.zrevrange(key('cooccurrence', id), 0, -1, 'WITHSCORES')
      const res = (await p.exec()) ?? []
      res.forEach(([err, flat], i) => {
        const members = flat as string[] | undefined
        if (err || !members || members.length === 0) return
        const list: Scored[] = []
        for (let j = 0; j < members.length; j += 2)
          if (members[j] !== EMPTY) list.push({ id: members[j] as string, score: Number(members[j + 1]) })
        // ZREVRANGE breaks score ties by member descending; Postgres ranks them by id ascending.
        list.sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1))
        out.set(productIds[i] as string, list)
      })
    },
    () => undefined,
  )
  const misses = productIds.filter((id) => !out.has(id))
  cacheEvents.inc({ cache: 'cooccurrence', event: 'hit' }, productIds.length - misses.length)
  if (misses.length === 0) return out
  cacheEvents.inc({ cache: 'cooccurrence', event: 'miss' }, misses.length)
  const fromDb = await readNeighboursFromDb(misses)
  const refill: [string, Scored[]][] = misses.map((id) => [id, fromDb.get(id) ?? []])
  for (const [id, list] of refill) out.set(id, list)
  await writeNeighboursToRedis(refill)
  return out
}

export async function readNeighboursFromDb(productIds: readonly string[]): Promise<Map<string, Neighbour[]>> {
  const rows = await sql<{ product_id: string; neighbour_id: string; score: number; support: number }[]>`
    select product_id, neighbour_id, score, support from product_neighbours
    where product_id = any(${productIds as string[]}::uuid[]) order by product_id, rank`
  const out = new Map<string, Neighbour[]>()
  for (const r of rows) {
    const l = out.get(r.product_id) ?? []
    l.push({ id: r.neighbour_id, score: r.score, support: r.support })
    out.set(r.product_id, l)
  }
  return out
}

// biome-ignore lint/suspicious/noExplicitAny: postgres.js Sql or TransactionSql
type Q = any

/** Inserts neighbour lists (rank = position) with unnest: one round trip per 20k rows. */
export async function insertNeighbourRows(tx: Q, lists: Iterable<[string, readonly Neighbour[]]>): Promise<number> {
  const cols = { p: [] as string[], n: [] as string[], s: [] as number[], c: [] as number[], r: [] as number[] }
  let total = 0
  const flush = async () => {
    if (cols.p.length === 0) return
    await tx`insert into product_neighbours (product_id, neighbour_id, score, support, rank)
      select * from unnest(${cols.p}::uuid[], ${cols.n}::uuid[], ${cols.s}::float8[], ${cols.c}::int[], ${cols.r}::int2[])`
    total += cols.p.length
    for (const a of Object.values(cols)) a.length = 0
  }
  for (const [productId, list] of lists) {
    list.forEach((x, i) => {
      cols.p.push(productId)
      cols.n.push(x.id)
      cols.s.push(x.score)
      cols.c.push(x.support)
      cols.r.push(i + 1)
    })
    if (cols.p.length >= 20_000) await flush()
  }
  await flush()
  return total
}

/** Best sellers for the cold start: Redis-free on purpose (one indexed read of ≤ a few hundred rows). */
export async function readPopularity(limit: number): Promise<string[]> {
  const rows = await sql<{ product_id: string }[]>`select product_id from product_popularity order by rank limit ${limit}`
  return rows.map((r) => r.product_id)
}
