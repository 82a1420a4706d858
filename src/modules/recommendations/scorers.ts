// Pure scorers of every strategy over prepared (in-memory) models: the API and the offline eval
// call the same functions, so the eval measures what is served.
import { scoreAll, sigmoid, topN } from '../../lib/ml/dense'
import { dot } from '../../lib/text/sparse'
import { tokenize } from '../../lib/text/tokenize'
import type { AlsModel, BlendModel, ContentModel, SegmentModel } from '../ml/prepared'
import { aggregateNeighbours } from './cooccurrence'
import { type BaseStrategy, candidateFeatures, linearScore, type Scored, userProfile } from './features'

export { type AlsModel, type BlendModel, type ContentModel, prepare, type SegmentModel } from '../ml/prepared'

export function alsScores(m: AlsModel, userId: string, owned: ReadonlySet<string>, n: number): Scored[] {
  const u = m.userIndex.get(userId)
  if (u === undefined) return []
  const scores = scoreAll(m.X.subarray(u * m.k, (u + 1) * m.k), m.Y, m.k)
  return topN(scores, n, (i) => owned.has(m.itemIds[i] as string)).map((i) => ({ id: m.itemIds[i] as string, score: scores[i] as number }))
}

export function contentNeighbours(m: ContentModel, productId: string): Scored[] {
  const i = m.index.get(productId)
  return i === undefined ? [] : (m.neighbours[i] ?? []).map(([j, s]) => ({ id: m.ids[j] as string, score: s }))
}

/** Neighbours of a product the model has not seen (created after training), from its own text. */
export function contentNeighboursOfText(m: ContentModel, text: string, exclude: string, n: number): Scored[] {
  const v = m.vectorizer.transform(tokenize(text))
  if (v.indices.length === 0) return []
  const scores = m.vectors.map((w) => dot(v, w))
  return topN(scores, n, (i) => m.ids[i] === exclude || (scores[i] as number) <= 0).map((i) => ({
    id: m.ids[i] as string,
    score: scores[i] as number,
  }))
}

export function contentScores(m: ContentModel, historyRecentFirst: readonly string[], owned: ReadonlySet<string>, n: number): Scored[] {
  return aggregateNeighbours(historyRecentFirst.slice(0, 50), (id) => contentNeighbours(m, id), n, owned)
}

export function listScores(list: readonly string[], owned: ReadonlySet<string>, n: number): Scored[] {
  const out: Scored[] = []
  for (const id of list) {
    if (out.length >= n) break
    if (!owned.has(id)) out.push({ id, score: 1 - out.length / Math.max(1, n) })
  }
  return out
}

export function segmentScores(m: SegmentModel, userId: string, owned: ReadonlySet<string>, n: number): Scored[] {
  const s = m.assignment.get(userId)
  return s === undefined ? [] : listScores(m.bestSellers[s] ?? [], owned, n)
}

/** Ranks the union of the base lists by the learned model; score = predicted probability. */
export function blendScores(
  m: BlendModel,
  lists: Partial<Record<BaseStrategy, readonly Scored[]>>,
  history: readonly { id: string; at: number }[],
  now: number,
  n: number,
): Scored[] {
  const facts = (id: string) => m.facts.get(id)
  const { ids, rows } = candidateFeatures(lists, userProfile(history, facts, now), facts, m.maxOrders)
  return ids
    .map((id, i) => ({ id, score: sigmoid(linearScore(rows[i] as number[], m.weights, m.mean, m.std)) }))
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
    .slice(0, n)
}
