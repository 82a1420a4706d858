// The blend's features, shared by training (jobs/ml/blend.ts) and serving, so the model sees the
// same numbers in both. Strategy scores enter as reciprocal rank (1 / (1 + rank), 0 when the
// strategy did not propose the item): ALS dot products, cosines and best-seller positions live on
// different scales, ranks do not.
import type { ProductFacts } from '../ml/artefacts'

export const BASE_STRATEGIES = ['als', 'content', 'cooccurrence', 'segment', 'popular'] as const
export type BaseStrategy = (typeof BASE_STRATEGIES)[number]
export const FEATURES = [
  'rr_als',
  'rr_content',
  'rr_cooccurrence',
  'rr_segment',
  'rr_popular',
  'popularity',
  'price_band',
  'category_affinity',
  'category_recency',
] as const

export type Scored = { id: string; score: number }

/** What the features need to know about the user: built from their purchases. */
export type UserProfile = { total: number; byRoot: Map<number, number>; lastDayByRoot: Map<number, number>; meanLogPrice: number | null }

export function userProfile(
  history: readonly { id: string; at: number }[],
  facts: (id: string) => ProductFacts | undefined,
  now: number,
): UserProfile {
  const byRoot = new Map<number, number>()
  const lastDayByRoot = new Map<number, number>()
  let logSum = 0
  let priced = 0
  for (const h of history) {
    const f = facts(h.id)
    if (!f) continue
    byRoot.set(f.root, (byRoot.get(f.root) ?? 0) + 1)
    const days = Math.max(0, (now - h.at) / 86_400_000)
    lastDayByRoot.set(f.root, Math.min(lastDayByRoot.get(f.root) ?? Number.POSITIVE_INFINITY, days))
    logSum += Math.log1p(f.priceCents)
    priced++
  }
  return { total: priced, byRoot, lastDayByRoot, meanLogPrice: priced ? logSum / priced : null }
}

/** Candidates (union of the base lists) with their raw feature rows. */
export function candidateFeatures(
  lists: Partial<Record<BaseStrategy, readonly Scored[]>>,
  profile: UserProfile,
  facts: (id: string) => ProductFacts | undefined,
  maxOrders: number,
): { ids: string[]; rows: number[][] } {
  const rr = new Map<string, number[]>()
  BASE_STRATEGIES.forEach((s, j) => {
    ;(lists[s] ?? []).forEach((x, rank) => {
      let row = rr.get(x.id)
      if (!row) {
        row = new Array<number>(BASE_STRATEGIES.length).fill(0)
        rr.set(x.id, row)
      }
      row[j] = Math.max(row[j] as number, 1 / (1 + rank))
    })
  })
  const ids: string[] = []
  const rows: number[][] = []
  const logMax = Math.log1p(Math.max(1, maxOrders))
  for (const [id, r] of rr) {
    const f = facts(id)
    const popularity = f ? Math.log1p(f.orders) / logMax : 0
    const priceBand = f && profile.meanLogPrice !== null ? Math.exp(-Math.abs(Math.log1p(f.priceCents) - profile.meanLogPrice)) : 0.5
    const affinity = f && profile.total ? (profile.byRoot.get(f.root) ?? 0) / profile.total : 0
    const lastDays = f ? profile.lastDayByRoot.get(f.root) : undefined
    const recency = lastDays === undefined ? 0 : Math.exp(-lastDays / 90)
    ids.push(id)
    rows.push([...r, popularity, priceBand, affinity, recency])
  }
  return { ids, rows }
}

/** Linear score over z-scored features (bias last); the logistic link is monotone, so ranking by it
 *  is ranking by predicted probability. */
export function linearScore(row: readonly number[], weights: readonly number[], mean: readonly number[], std: readonly number[]): number {
  let z = weights[row.length] ?? 0
  for (let j = 0; j < row.length; j++) z += (weights[j] as number) * standardize(row[j] as number, mean[j] as number, std[j] as number)
  return z
}

/** z-score clamped to ±Z_MAX: a feature that barely varied in training (tiny std) must not let one
 *  unusual candidate dominate the ranking (seen on a small dataset: every score saturated at 1). */
export const Z_MAX = 4
export function standardize(x: number, mean: number, std: number): number {
  const z = (x - mean) / (std || 1)
  return Math.min(Z_MAX, Math.max(-Z_MAX, z))
}
