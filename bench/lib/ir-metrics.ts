// Ranking-quality metrics with binary relevance (the eval's judgements are sets).

/** NDCG@k: DCG of the ranking over the DCG of an ideal one (all relevant first). */
export function ndcgAt(ranked: readonly string[], relevant: ReadonlySet<string>, k = 10): number {
  let dcg = 0
  ranked.slice(0, k).forEach((id, i) => {
    if (relevant.has(id)) dcg += 1 / Math.log2(i + 2)
  })
  let ideal = 0
  for (let i = 0; i < Math.min(k, relevant.size); i++) ideal += 1 / Math.log2(i + 2)
  return ideal > 0 ? dcg / ideal : 0
}

/** recall@k: relevant products in the top k over min(k, |relevant|) (1 = the top k is as full as it can be). */
export function recallAt(ranked: readonly string[], relevant: ReadonlySet<string>, k = 10): number {
  const hits = ranked.slice(0, k).filter((id) => relevant.has(id)).length
  const possible = Math.min(k, relevant.size)
  return possible > 0 ? hits / possible : 0
}

export type Metrics = { ndcg10: number; recall10: number }

export function mean(xs: readonly Metrics[]): Metrics {
  const n = xs.length || 1
  const r = (v: number) => Math.round(v * 10000) / 10000
  return { ndcg10: r(xs.reduce((s, m) => s + m.ndcg10, 0) / n), recall10: r(xs.reduce((s, m) => s + m.recall10, 0) / n) }
}
