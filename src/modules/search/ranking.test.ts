// The ranking stage and fusion on fixed inputs, with exact expected orders, and the eval's metrics
// on a small fixed set with hand-computed values.
import { describe, expect, test } from 'bun:test'
import { mean, ndcgAt, recallAt } from '../../../bench/lib/ir-metrics'
import { type Features, fuse, popularityOrder, RRF_K, type Rule, rank } from './ranking'

const ctx = { now: new Date('2026-06-01T00:00:00Z'), maxPurchases: 100 }
const feat = (purchaseCount: number, available = 5): Features => ({
  purchaseCount,
  ratingCount: 0,
  ratingSum: 0,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  available,
})

describe('fuse (weighted RRF)', () => {
  test('scores are Σ w / (60 + rank); both lists beat either alone', () => {
    const f = fuse(['a', 'b', 'c'], ['c', 'd'])
    expect(f.map((x) => x.id)).toEqual(['c', 'a', 'b', 'd'])
    const c = f.find((x) => x.id === 'c')
    expect(c?.fused).toBeCloseTo(1 / (RRF_K + 3) + 0.8 / (RRF_K + 1), 12)
    expect(c?.keywordRank).toBe(3)
    expect(c?.semanticRank).toBe(1)
  })
  test('ties break by id (a total order)', () => {
    expect(fuse(['b'], ['a'], { keyword: 1, semantic: 1 }).map((x) => x.id)).toEqual(['a', 'b'])
  })
})

describe('rank', () => {
  const cands = fuse(['p1', 'p2', 'p3', 'p4'], [])
  const features = new Map([
    ['p1', feat(0)],
    ['p2', feat(100)],
    ['p3', feat(50, 0)],
    ['p4', feat(10)],
    ['p9', feat(0)],
  ])

  test('relevance then popularity; sold-out after in-stock', () => {
    // p2's popularity (0.5 × 1) outweighs p1's retrieval lead (0.6 × (1 − 61/62)); p3 is sold out.
    expect(rank(cands, features, [], ctx).map((r) => r.id)).toEqual(['p2', 'p1', 'p4', 'p3'])
  })

  test('boost, demote and pin (query rule beats global rule; a pin may bring a product retrieval missed)', () => {
    const rules: Rule[] = [
      { productId: 'p4', action: 'boost', weight: 1, position: null, query: null },
      { productId: 'p2', action: 'demote', weight: 1, position: null, query: 'q' },
      { productId: 'p9', action: 'pin', position: 2, weight: null, query: 'q' },
      { productId: 'p1', action: 'boost', weight: 5, position: null, query: null },
      { productId: 'p1', action: 'demote', weight: 5, position: null, query: 'q' },
    ]
    const r = rank(cands, features, rules, ctx)
    expect(r.map((x) => x.id)).toEqual(['p4', 'p9', 'p2', 'p1', 'p3'])
    expect(r[1]?.pinned).toBe(true)
  })

  test('popularity fallback: purchases desc, then id; no rules', () => {
    expect(popularityOrder(cands, features).map((r) => r.id)).toEqual(['p2', 'p3', 'p4', 'p1'])
  })
})

describe('eval metrics', () => {
  const rel = new Set(['a', 'b'])
  test('NDCG@10 and recall@10 by hand', () => {
    expect(ndcgAt(['a', 'b', 'x'], rel)).toBe(1)
    expect(ndcgAt(['x', 'a'], rel)).toBeCloseTo(1 / Math.log2(3) / (1 + 1 / Math.log2(3)), 12)
    expect(ndcgAt(['x', 'y'], rel)).toBe(0)
    expect(recallAt(['x', 'a'], rel)).toBe(0.5)
    expect(recallAt(['a'], new Set(Array.from({ length: 20 }, (_, i) => (i === 0 ? 'a' : `r${i}`))))).toBe(0.1)
    expect(
      mean([
        { ndcg10: 1, recall10: 0.5 },
        { ndcg10: 0, recall10: 0 },
      ]),
    ).toEqual({ ndcg10: 0.5, recall10: 0.25 })
  })
})
