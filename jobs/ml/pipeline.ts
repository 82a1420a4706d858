// Fits every base model from a Dataset in memory, returning both the artefact (what the registry
// stores) and the prepared model (what scorers read). Used by the training job, the blend's own
// training (on an inner time split) and the offline eval.
import { config } from '../../src/config'
import type { AlsArtefact, ContentArtefact, SegmentArtefact, SegmentDescription } from '../../src/modules/ml/artefacts'
import { encodeFloats } from '../../src/modules/ml/artefacts'
import { aggregateNeighbours, CooccurrenceCounter, type Neighbour } from '../../src/modules/recommendations/cooccurrence'
import type { BaseStrategy, Scored } from '../../src/modules/recommendations/features'
import {
  type AlsModel,
  alsScores,
  type ContentModel,
  contentScores,
  listScores,
  prepare,
  type SegmentModel,
  segmentScores,
} from '../../src/modules/recommendations/scorers'
import { type AlsParams, fitAls } from './als'
import { type ContentParams, fitContent } from './content'
import type { Dataset } from './dataset'
import { fitSegments, type Rfm, type SegmentParams } from './segment'

export type AlsTrainParams = AlsParams & { weights: { purchase: number; pending: number; add_to_cart: number; click: number } }

/** user × product interactions: purchases weigh most, then pending orders, cart adds, clicks. */
export function fitAlsModel(ds: Dataset, p: AlsTrainParams): { artefact: AlsArtefact; model: AlsModel; interactions: number } {
  const users = new Map<string, number>()
  const items = new Map<string, number>()
  const idx = (m: Map<string, number>, k: string) => {
    let i = m.get(k)
    if (i === undefined) {
      i = m.size
      m.set(k, i)
    }
    return i
  }
  const u: number[] = []
  const i: number[] = []
  const w: number[] = []
  for (const o of ds.orders) {
    const weight = o.completed ? p.weights.purchase : p.weights.pending
    for (const item of o.items) {
      u.push(idx(users, o.userId))
      i.push(idx(items, item))
      w.push(weight)
    }
  }
  for (const e of ds.events) {
    u.push(idx(users, e.userId))
    i.push(idx(items, e.productId))
    w.push(p.weights[e.type])
  }
  const f = fitAls({ users: users.size, items: items.size, u: Uint32Array.from(u), i: Uint32Array.from(i), w: Float32Array.from(w) }, p)
  const artefact: AlsArtefact = {
    kind: 'als',
    factors: f.factors,
    userIds: [...users.keys()],
    itemIds: [...items.keys()],
    X: encodeFloats(f.X),
    Y: encodeFloats(f.Y),
  }
  return { artefact, model: prepare(artefact) as AlsModel, interactions: u.length }
}

export function fitContentModel(ds: Dataset, p: ContentParams): { artefact: ContentArtefact; model: ContentModel } {
  const artefact = fitContent(ds.products, p)
  return { artefact, model: prepare(artefact) as ContentModel }
}

/** RFM per customer with ≥ 1 completed order, as of ds.asOf. */
export function rfmOf(ds: Dataset): Map<string, Rfm> {
  const out = new Map<string, Rfm>()
  for (const o of ds.orders) {
    if (!o.completed) continue
    const r = out.get(o.userId) ?? { recencyDays: Number.POSITIVE_INFINITY, orders: 0, monetaryCents: 0 }
    r.recencyDays = Math.min(r.recencyDays, Math.max(0, (ds.asOf - o.at) / 86_400_000))
    r.orders++
    r.monetaryCents += o.totalCents
    out.set(o.userId, r)
  }
  return out
}

const money = (cents: number) => `$${(cents / 100).toLocaleString('en-US', { maximumFractionDigits: 0 })}`

/** "recent (12 days), frequent (8 orders), high spend ($1,240)": each dimension against the population's tertiles. */
export function describeCentroid(c: Rfm, t: Record<keyof Rfm, [number, number]>): { label: string; description: string } {
  const level = (x: number, [lo, hi]: [number, number]) => (x <= lo ? 0 : x <= hi ? 1 : 2)
  const rec = ['recent', 'lapsing', 'lapsed'][level(c.recencyDays, t.recencyDays)] as string
  const freq = ['occasional', 'regular', 'frequent'][level(c.orders, t.orders)] as string
  const spend = ['low', 'mid', 'high'][level(c.monetaryCents, t.monetaryCents)] as string
  return {
    label: `${rec} ${freq} ${spend}-spend`,
    description: `${rec} (last order ${Math.round(c.recencyDays)} days ago), ${freq} (${c.orders.toFixed(1)} orders), ${spend} spend (${money(c.monetaryCents)} in total)`,
  }
}

export function fitSegmentModel(
  ds: Dataset,
  p: SegmentParams & { bestSellers: number },
): { artefact: SegmentArtefact; model: SegmentModel; rfm: Map<string, Rfm> } {
  const rfm = rfmOf(ds)
  const userIds = [...rfm.keys()]
  const fit = fitSegments([...rfm.values()], p)
  const assignment: Record<string, number> = {}
  userIds.forEach((u, i) => {
    assignment[u] = fit.labels[i] as number
  })
  const counts = Array.from({ length: fit.k }, () => new Map<string, number>())
  for (const o of ds.orders) {
    const s = o.completed ? assignment[o.userId] : undefined
    if (s === undefined) continue
    const m = counts[s] as Map<string, number>
    for (const item of o.items) m.set(item, (m.get(item) ?? 0) + 1)
  }
  const bestSellers = counts.map((m) =>
    [...m]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, p.bestSellers)
      .map(([id]) => id),
  )
  const segments: SegmentDescription[] = fit.centroids.map((c, s) => ({
    segment: s,
    size: fit.sizes[s] as number,
    centroid: {
      recencyDays: Math.round(c.recencyDays * 10) / 10,
      orders: Math.round(c.orders * 100) / 100,
      monetaryCents: c.monetaryCents,
    },
    ...describeCentroid(c, fit.tertiles),
  }))
  const artefact: SegmentArtefact = {
    kind: 'segment',
    k: fit.k,
    silhouette: fit.silhouette,
    tried: fit.tried,
    segments,
    bestSellers,
    assignment,
  }
  return { artefact, model: prepare(artefact) as SegmentModel, rfm }
}

export function fitCooccurrence(ds: Dataset): { lists: Map<string, Neighbour[]>; popular: string[] } {
  const c = new CooccurrenceCounter()
  for (const o of ds.orders) if (o.completed) c.addOrder(o.items)
  return {
    lists: c.topK({ k: config.RECS_TOP_K, minSupport: config.RECS_MIN_SUPPORT, measure: 'cosine' }),
    popular: c.popular(1000).map((p) => p.id),
  }
}

export type BaseModels = { als: AlsModel; content: ContentModel; segment: SegmentModel; cooc: Map<string, Neighbour[]>; popular: string[] }
export type UserCtx = { userId: string; history: { id: string; at: number }[]; owned: Set<string> }

/** Each base strategy's list for one user, as served (the cooccurrence list as the API builds it). */
export function baseLists(m: BaseModels, ctx: UserCtx, n: number): Record<BaseStrategy, Scored[]> {
  const recent = ctx.history.map((h) => h.id)
  return {
    als: alsScores(m.als, ctx.userId, ctx.owned, n),
    content: contentScores(m.content, recent, ctx.owned, n),
    cooccurrence: aggregateNeighbours(recent.slice(0, 50), (id) => m.cooc.get(id), n, ctx.owned),
    segment: segmentScores(m.segment, ctx.userId, ctx.owned, n),
    popular: listScores(m.popular, ctx.owned, n),
  }
}

/** Per user: completed purchases recent first (distinct), and everything owned or pending. */
export function userContexts(ds: Dataset): Map<string, UserCtx> {
  const out = new Map<string, UserCtx>()
  const seen = new Map<string, Set<string>>()
  for (let j = ds.orders.length - 1; j >= 0; j--) {
    const o = ds.orders[j] as Dataset['orders'][number]
    let c = out.get(o.userId)
    if (!c) {
      c = { userId: o.userId, history: [], owned: new Set() }
      out.set(o.userId, c)
      seen.set(o.userId, new Set())
    }
    const inHistory = seen.get(o.userId) as Set<string>
    for (const item of o.items) {
      if (o.completed && !inHistory.has(item)) {
        inHistory.add(item)
        c.history.push({ id: item, at: o.at })
      }
      c.owned.add(item)
    }
  }
  return out
}

export type { ContentParams, SegmentParams }
