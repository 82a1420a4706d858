import { describe, expect, test } from 'bun:test'
import {
  bayesianRating,
  PRIOR_MEAN,
  popularityNorm,
  RECENCY_WINDOW_SECONDS,
  rankScore,
  ratingNorm,
  recencyDecay,
  relevance,
  WEIGHTS,
} from './ranking'

const now = new Date('2026-11-22T12:00:00Z')
const daysAgo = (d: number) => new Date(now.getTime() - d * 86400_000)

describe('popularity term', () => {
  test('purchases / top seller, in [0, 1]', () => {
    expect(popularityNorm(50, 200)).toBe(0.25)
    expect(popularityNorm(200, 200)).toBe(1)
    expect(popularityNorm(0, 200)).toBe(0)
  })
  test('no sales anywhere → 0, never NaN; stale max cannot push it above 1', () => {
    expect(popularityNorm(0, 0)).toBe(0)
    expect(popularityNorm(300, 200)).toBe(1)
  })
})

describe('rating term (Bayesian average)', () => {
  test('no reviews sits at the prior', () => {
    expect(bayesianRating(0, 0)).toBe(PRIOR_MEAN)
    expect(ratingNorm(0, 0)).toBeCloseTo(PRIOR_MEAN / 5)
  })
  test('a single 5★ review does not outrank 500 reviews at 4.8', () => {
    expect(ratingNorm(1, 5)).toBeLessThan(ratingNorm(500, 2400))
    expect(bayesianRating(500, 2400)).toBeGreaterThan(4.7)
  })
  test('many reviews converge to the plain average', () => {
    expect(bayesianRating(100_000, 420_000)).toBeCloseTo(4.2, 2)
    expect(ratingNorm(10_000, 50_000)).toBeLessThanOrEqual(1)
  })
})

describe('recency term', () => {
  test('linear decay to 0 over 30 days', () => {
    expect(recencyDecay(now, now)).toBe(1)
    expect(recencyDecay(daysAgo(15), now)).toBeCloseTo(0.5)
    expect(recencyDecay(daysAgo(30), now)).toBe(0)
    expect(recencyDecay(daysAgo(400), now)).toBe(0)
    expect(RECENCY_WINDOW_SECONDS).toBe(30 * 86400)
  })
  test('future timestamps count as brand new, not > 1', () => {
    expect(recencyDecay(new Date(now.getTime() + 3600_000), now)).toBe(1)
  })
})

describe('rank score', () => {
  test('weights 0.5 / 0.3 / 0.2 sum to 1 and the score is their weighted sum', () => {
    expect(WEIGHTS.popularity + WEIGHTS.rating + WEIGHTS.recency).toBeCloseTo(1)
    const p = { purchaseCount: 100, ratingCount: 10, ratingSum: 45, createdAt: daysAgo(6) }
    const expected = 0.5 * (100 / 400) + 0.3 * ((3.5 * 10 + 45) / 20 / 5) + 0.2 * (1 - 6 / 30)
    expect(rankScore(p, { now, maxPurchases: 400 })).toBeCloseTo(expected, 12)
  })
  test('best seller, perfect reviews, brand new → close to 1; nothing → only the rating prior', () => {
    const top = rankScore({ purchaseCount: 10, ratingCount: 1e6, ratingSum: 5e6, createdAt: now }, { now, maxPurchases: 10 })
    expect(top).toBeGreaterThan(0.99)
    const none = rankScore({ purchaseCount: 0, ratingCount: 0, ratingSum: 0, createdAt: daysAgo(90) }, { now, maxPurchases: 10 })
    expect(none).toBeCloseTo(0.3 * (PRIOR_MEAN / 5))
  })
  test('relevance mixes text match and rank', () => {
    expect(relevance(1, 0)).toBeCloseTo(0.6)
    expect(relevance(0, 1)).toBeCloseTo(0.4)
    expect(relevance(0.5, 0.5)).toBeCloseTo(0.5)
  })
})
