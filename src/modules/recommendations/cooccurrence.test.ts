// Unit tests of the pure model math: the typed-array pair table against a brute-force count
// (through several hash-table growths), the measures, top-K order and the user aggregation.
import { describe, expect, test } from 'bun:test'
import { rng } from '../../../db/seed/prng'
import { aggregateNeighbours, CooccurrenceCounter, MAX_BASKET, score } from './cooccurrence'

describe('CooccurrenceCounter', () => {
  test('pair and item counts equal a brute-force count over 20k random baskets', () => {
    const r = rng(1, 'unit')
    const ids = Array.from({ length: 400 }, (_, i) => `p${String(i).padStart(3, '0')}`)
    const c = new CooccurrenceCounter()
    const brute = new Map<string, number>()
    const items = new Map<string, number>()
    for (let o = 0; o < 20_000; o++) {
      const basket = Array.from({ length: r.int(1, 6) }, () => r.pick(ids))
      c.addOrder(basket)
      const uniq = [...new Set(basket)].sort()
      for (const a of uniq) items.set(a, (items.get(a) ?? 0) + 1)
      for (let i = 0; i < uniq.length; i++)
        for (let j = i + 1; j < uniq.length; j++) brute.set(`${uniq[i]}|${uniq[j]}`, (brute.get(`${uniq[i]}|${uniq[j]}`) ?? 0) + 1)
    }
    expect(c.orders).toBe(20_000)
    expect(c.pairCount).toBe(brute.size)
    for (const [id, n] of items) expect(c.count(id)).toBe(n)
    // every pair's support surfaces through topK with k = ∞ and minSupport = 1
    const lists = c.topK({ k: 10_000, minSupport: 1, measure: 'count' })
    let seen = 0
    for (const [p, l] of lists)
      for (const n of l)
        if (p < n.id) {
          expect(n.support).toBe(brute.get(`${p}|${n.id}`) as number)
          seen++
        }
    expect(seen).toBe(brute.size)
  })

  test('top-K is sorted by score, cut at k, respects min support, never contains the product itself', () => {
    const c = new CooccurrenceCounter()
    for (let i = 0; i < 5; i++) c.addOrder(['a', 'b', 'a'])
    for (let i = 0; i < 3; i++) c.addOrder(['a', 'c'])
    for (let i = 0; i < 2; i++) c.addOrder(['a', 'd'])
    for (let i = 0; i < 50; i++) c.addOrder(['c', `x${i}`])
    const lists = c.topK({ k: 1, minSupport: 3, measure: 'cosine' })
    expect(lists.get('a')).toEqual([{ id: 'b', score: 5 / Math.sqrt(10 * 5), support: 5 }])
    const all = c
      .topK({ k: 10, minSupport: 3, measure: 'cosine' })
      .get('a')
      ?.map((n) => n.id)
    expect(all).toEqual(['b', 'c']) // d: support 2 < 3
    expect(c.count('a')).toBe(10) // duplicates within an order count once
  })

  test('baskets are capped at MAX_BASKET products', () => {
    const c = new CooccurrenceCounter()
    c.addOrder(Array.from({ length: MAX_BASKET + 30 }, (_, i) => `p${i}`))
    expect(c.pairCount).toBe((MAX_BASKET * (MAX_BASKET - 1)) / 2)
  })
})

test('measures', () => {
  expect(score('cosine', 4, 16, 4, 100)).toBeCloseTo(0.5)
  expect(score('jaccard', 4, 16, 4, 100)).toBeCloseTo(0.25)
  expect(score('lift', 4, 16, 4, 100)).toBeCloseTo(6.25)
  expect(score('count', 4, 16, 4, 100)).toBe(4)
})

test('aggregateNeighbours sums neighbour vectors, weights recent purchases higher, drops owned products', () => {
  const lists = new Map([
    [
      'recent',
      [
        { id: 'x', score: 0.5 },
        { id: 'owned', score: 0.9 },
      ],
    ],
    [
      'older',
      [
        { id: 'y', score: 0.52 },
        { id: 'x', score: 0.1 },
      ],
    ],
  ])
  const out = aggregateNeighbours(['recent', 'older'], (id) => lists.get(id), 10, new Set(['recent', 'older', 'owned']))
  expect(out.map((x) => x.id)).toEqual(['x', 'y'])
  expect(out[0]?.score).toBeCloseTo(0.5 + 0.95 * 0.1)
})
