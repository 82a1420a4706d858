// coalesce(): the calls of one event-loop turn share one batch; each caller gets its own answer.
import { describe, expect, test } from 'bun:test'
import { db } from '../src/infra/db'
import { coalesce } from '../src/lib/coalesce'
import { getProductsForOrder } from '../src/modules/catalog/service'
import { productWithStock } from './inventory-fixtures'

describe('coalesce', () => {
  test('calls in one turn run as one batch, in order; later calls start a new batch', async () => {
    const batches: number[][] = []
    const double = coalesce(async (xs: number[]) => {
      batches.push(xs)
      return xs.map((x) => x * 2)
    })
    expect(await Promise.all([1, 2, 3].map(double))).toEqual([2, 4, 6])
    expect(await double(5)).toBe(10)
    expect(batches).toEqual([[1, 2, 3], [5]])
  })

  test('a failing batch rejects every caller in it, and only them', async () => {
    let calls = 0
    const f = coalesce(async (xs: number[]) => {
      if (calls++ === 0) throw new Error('boom')
      return xs
    })
    const first = await Promise.allSettled([f(1), f(2)])
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(await f(3)).toBe(3)
  })

  test('isolate: a failing batch is retried input by input, and only the bad input is rejected', async () => {
    const batches: number[][] = []
    const f = coalesce(
      async (xs: number[]) => {
        batches.push(xs)
        if (xs.includes(13)) throw new Error(`bad ${xs.join(',')}`)
        return xs.map((x) => -x)
      },
      { isolate: true },
    )
    const got = await Promise.allSettled([1, 13, 2].map(f))
    expect(got.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([-1, 'bad 13', -2])
    expect(batches).toEqual([[1, 13, 2], [1], [13], [2]])
  })

  test('batches are split at maxBatch', async () => {
    const sizes: number[] = []
    const f = coalesce(
      async (xs: number[]) => {
        sizes.push(xs.length)
        return xs
      },
      { maxBatch: 4 },
    )
    expect(await Promise.all(Array.from({ length: 10 }, (_, i) => f(i)))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(sizes).toEqual([4, 4, 2])
  })

  test('concurrent checkout reads of different products each get exactly their own products', async () => {
    const [a, b, c] = await Promise.all([productWithStock(1), productWithStock(1), productWithStock(1)])
    const missing = Bun.randomUUIDv7()
    // A malformed id (it would be a Postgres error) only misses, without failing the others' read.
    const asks = [[a], [b, c], [a, missing], [c], [missing], ['not-a-uuid', b]]
    const got = await Promise.all(asks.map((ids) => getProductsForOrder(db, ids)))
    expect(got.map((m) => [...m.keys()].sort())).toEqual(asks.map((ids) => ids.filter((i) => i !== missing && i !== 'not-a-uuid').sort()))
    for (const m of got) for (const [id, p] of m) expect(p.id).toBe(id)
  })
})
