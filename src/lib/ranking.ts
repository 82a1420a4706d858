// Product ranking (seed 001): score = 0.5 × popularity + 0.3 × rating + 0.2 × recency, each term in
// [0, 1]. `rankScore` is the definition; `rankScoreSql` is its SQL twin for ORDER BY, kept identical
// by a test that evaluates both on the same rows (src/lib/ranking.test.ts).
import { type SQL, sql } from 'drizzle-orm'

export const WEIGHTS = { popularity: 0.5, rating: 0.3, recency: 0.2 } as const

/**
 * Bayesian average: the rating is pulled towards PRIOR_MEAN as if every product had PRIOR_WEIGHT
 * extra reviews at that mean. With 3.5 and 10, one 5★ review → (35 + 5) / 11 = 3.64 while 500
 * reviews at 4.8 → (35 + 2400) / 510 = 4.77: evidence beats a lucky single vote, and a product
 * with no reviews sits at a neutral 3.5 rather than 0.
 */
export const PRIOR_MEAN = 3.5
export const PRIOR_WEIGHT = 10
/** Recency decays linearly to 0 over this many seconds (30 days). */
export const RECENCY_WINDOW_SECONDS = 30 * 86400
/** `relevance` = RELEVANCE_TEXT_WEIGHT × text match + (1 − it) × rank score. */
export const RELEVANCE_TEXT_WEIGHT = 0.6

export type RankInput = { purchaseCount: number; ratingCount: number; ratingSum: number; createdAt: Date }
export type RankContext = { now: Date; maxPurchases: number }

export function popularityNorm(purchaseCount: number, maxPurchases: number): number {
  return maxPurchases > 0 ? Math.min(1, purchaseCount / maxPurchases) : 0
}

export function bayesianRating(ratingCount: number, ratingSum: number): number {
  return (PRIOR_MEAN * PRIOR_WEIGHT + ratingSum) / (PRIOR_WEIGHT + ratingCount)
}

export function ratingNorm(ratingCount: number, ratingSum: number): number {
  return bayesianRating(ratingCount, ratingSum) / 5
}

/** max(0, 1 − age / 30 d); a product created "in the future" (clock skew, frozen cursor) counts as new. */
export function recencyDecay(createdAt: Date, now: Date): number {
  const ageSeconds = (now.getTime() - createdAt.getTime()) / 1000
  return Math.min(1, Math.max(0, 1 - ageSeconds / RECENCY_WINDOW_SECONDS))
}

export function rankScore(p: RankInput, ctx: RankContext): number {
  return (
    WEIGHTS.popularity * popularityNorm(p.purchaseCount, ctx.maxPurchases) +
    WEIGHTS.rating * ratingNorm(p.ratingCount, p.ratingSum) +
    WEIGHTS.recency * recencyDecay(p.createdAt, ctx.now)
  )
}

export function relevance(textScore: number, score: number): number {
  return RELEVANCE_TEXT_WEIGHT * textScore + (1 - RELEVANCE_TEXT_WEIGHT) * score
}

/**
 * SQL twin of rankScore over a row aliased `alias` (columns purchase_count, rating_count,
 * rating_sum, created_at). `now` and `maxPurchases` are parameters, not now()/max(), so a cursor can
 * freeze them and every page of a listing sorts by the same numbers.
 */
export function rankScoreSql(ctx: RankContext, alias = 'p'): SQL {
  const a = sql.raw(alias)
  const max = Math.max(0, ctx.maxPurchases)
  const popularity = max > 0 ? sql`least(1.0, ${a}.purchase_count::float8 / ${max}::float8)` : sql`0.0::float8`
  return sql`(${WEIGHTS.popularity}::float8 * ${popularity}
    + ${WEIGHTS.rating}::float8 * ((${PRIOR_MEAN * PRIOR_WEIGHT}::float8 + ${a}.rating_sum) / (${PRIOR_WEIGHT}::float8 + ${a}.rating_count) / 5.0)
    + ${WEIGHTS.recency}::float8 * least(1.0, greatest(0.0, 1.0 - extract(epoch from (${ctx.now.toISOString()}::timestamptz - ${a}.created_at))::float8 / ${RECENCY_WINDOW_SECONDS}::float8)))`
}

/** SQL twin of relevance(). */
export function relevanceSql(textScore: SQL, score: SQL): SQL {
  return sql`(${RELEVANCE_TEXT_WEIGHT}::float8 * ${textScore} + ${1 - RELEVANCE_TEXT_WEIGHT}::float8 * ${score})`
}
