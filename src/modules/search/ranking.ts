// The ranking stage (seed 004): deterministic scoring, business rules, final ordering. Pure: it
// calls no service; its inputs (candidates, product features, the rules) are fetched by the caller.
//   score = 0.6 × fused retrieval score (normalised to [0, 1]) + 0.4 × rank score (0.5/0.3/0.2)
//         + boost weight − demote weight
//   order = in-stock before sold-out, then score desc, then id (a total order), then pins placed.
import { type RankContext, rankScore, relevance } from '../../lib/ranking'

/** Reciprocal rank fusion constant (Cormack et al. 2009); 60 is the paper's and everyone's default. */
export const RRF_K = 60
/**
 * Keyword hits weigh more than semantic neighbours: an exact name match must stay first (the eval's
 * exact-match set), while products the keywords cannot reach still enter the top 10.
 */
export const FUSION_WEIGHTS = { keyword: 1, semantic: 0.8 } as const

export type Fused = { id: string; fused: number; keywordRank: number | null; semanticRank: number | null }

/** Weighted RRF of two ranked id lists (rank 1 = best): Σ w / (k + rank). */
export function fuse(
  keyword: readonly string[],
  semantic: readonly string[],
  weights: { keyword: number; semantic: number } = FUSION_WEIGHTS,
): Fused[] {
  const byId = new Map<string, Fused>()
  const add = (ids: readonly string[], w: number, which: 'keywordRank' | 'semanticRank') => {
    ids.forEach((id, i) => {
      const f = byId.get(id) ?? { id, fused: 0, keywordRank: null, semanticRank: null }
      f.fused += w / (RRF_K + i + 1)
      f[which] = i + 1
      byId.set(id, f)
    })
  }
  add(keyword, weights.keyword, 'keywordRank')
  add(semantic, weights.semantic, 'semanticRank')
  return [...byId.values()].sort((a, b) => b.fused - a.fused || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

export type Features = { purchaseCount: number; ratingCount: number; ratingSum: number; createdAt: Date; available: number }
export type Rule = {
  productId: string
  action: 'pin' | 'boost' | 'demote'
  position: number | null
  weight: number | null
  query: string | null
}

export type Ranked = { id: string; score: number; inStock: boolean; pinned: boolean }

/**
 * Final order of the candidates. Pinned products (query-specific rules win over global ones) take
 * their position even when retrieval missed them, as long as `features` has them (live products).
 */
export function rank(cands: readonly Fused[], features: ReadonlyMap<string, Features>, rules: readonly Rule[], ctx: RankContext): Ranked[] {
  const max = cands.reduce((m, c) => Math.max(m, c.fused), 0)
  const adjust = new Map<string, number>()
  const pins = new Map<string, number>()
  // Global rules first, query rules after: a query's rule overrides a global one for the same product.
  for (const r of [...rules].sort((a, b) => (a.query === null ? 0 : 1) - (b.query === null ? 0 : 1))) {
    if (r.action === 'pin' && r.position) pins.set(r.productId, r.position)
    else if (r.action === 'boost') adjust.set(r.productId, r.weight ?? 0)
    else if (r.action === 'demote') adjust.set(r.productId, -(r.weight ?? 0))
  }
  const scored: Ranked[] = []
  const seen = new Set<string>()
  for (const c of cands) {
    const f = features.get(c.id)
    if (!f || pins.has(c.id)) continue
    seen.add(c.id)
    const score = relevance(max > 0 ? c.fused / max : 0, rankScore(f, ctx)) + (adjust.get(c.id) ?? 0)
    scored.push({ id: c.id, score, inStock: f.available > 0, pinned: false })
  }
  scored.sort((a, b) => Number(b.inStock) - Number(a.inStock) || b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const pinned = [...pins.entries()].filter(([id]) => features.has(id)).sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
  for (const [id, position] of pinned) {
    const f = features.get(id) as Features
    scored.splice(Math.min(position - 1, scored.length), 0, { id, score: Number.POSITIVE_INFINITY, inStock: f.available > 0, pinned: true })
  }
  return scored
}

/** Scenario 1's fallback: candidates by popularity (purchases), then id. No rules, no other term. */
export function popularityOrder(cands: readonly Fused[], features: ReadonlyMap<string, Features>): Ranked[] {
  return cands
    .filter((c) => features.has(c.id))
    .map((c) => {
      const f = features.get(c.id) as Features
      return { id: c.id, score: f.purchaseCount, inStock: f.available > 0, pinned: false }
    })
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}
