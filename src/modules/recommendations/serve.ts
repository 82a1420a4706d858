// GET /recommendations?strategy=: resolves the strategy (explicit, the user's A/B arm, or auto),
// runs it through the factory, falls back to co-occurrence when its model is unusable, keeps only
// live in-stock products, fills with best sellers, and records the list (recommendationId).
import { assignArm, recordList } from './events'
import type { Scored } from './features'
import { recommendableSummaries } from './products'
import { type RecItem, recommendationsFor } from './service'
import { type ConcreteStrategy, createStrategy, loadUserContext, pickAuto, type StrategyName } from './strategies'

export const REASON: Record<ConcreteStrategy, RecItem['reason']> = {
  cooccurrence: 'bought_together',
  popular: 'popular',
  als: 'similar_customers',
  content: 'similar_products',
  segment: 'segment_best_seller',
  blend: 'blend',
}

export type Served = { recommendationId: string; strategy: ConcreteStrategy; arm: string; items: RecItem[] }

export async function serveRecommendations(userId: string, requested: StrategyName | undefined, limit: number): Promise<Served> {
  const arm = requested === undefined ? (assignArm(userId) ?? '') : ''
  const wanted: StrategyName = requested ?? (arm ? (arm as StrategyName) : 'auto')
  const ctx = await loadUserContext(userId)
  let strategy: ConcreteStrategy = wanted === 'auto' ? await pickAuto(ctx) : wanted
  let items: RecItem[]
  if (strategy === 'cooccurrence') {
    // The co-occurrence path keeps its per-user cache (issue 8).
    items = await recommendationsFor(userId, limit)
  } else {
    const scored: Scored[] | null = await createStrategy(strategy).recommend(ctx, limit * 2)
    if (scored === null) {
      strategy = 'cooccurrence'
      items = await recommendationsFor(userId, limit)
    } else {
      items = await toItems(scored, strategy, limit, ctx.owned)
    }
  }
  const recommendationId = await recordList(
    userId,
    strategy,
    arm,
    items.map((i) => i.id),
  )
  return { recommendationId, strategy, arm, items }
}

async function toItems(scored: Scored[], strategy: ConcreteStrategy, limit: number, owned: ReadonlySet<string>): Promise<RecItem[]> {
  const scoreOf = new Map(scored.map((x) => [x.id, x.score]))
  const out: RecItem[] = (await recommendableSummaries(scored.map((x) => x.id)))
    .slice(0, limit)
    .map((p) => ({ ...p, score: Math.round((scoreOf.get(p.id) ?? 0) * 1e6) / 1e6, reason: REASON[strategy] }))
  if (out.length < limit && strategy !== 'popular') {
    const chosen = new Set([...owned, ...out.map((x) => x.id)])
    const fill = (await createStrategy('popular').recommend({ userId: '', history: [], owned: chosen, now: Date.now() }, limit * 2)) ?? []
    for (const p of await recommendableSummaries(fill.map((x) => x.id))) {
      if (out.length >= limit) break
      out.push({ ...p, score: 0, reason: 'popular' })
    }
  }
  return out
}
