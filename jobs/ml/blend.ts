// The blend: logistic regression (ml-logistic-regression, mljs) over the features of
// src/modules/recommendations/features.ts, trained on an inner time split: every customer's last
// completed order is the label basket, the base models are fitted on everything before it, and
// each candidate the base strategies propose is a row (1 = it was in the basket). LightGBM (seed
// 002) has no maintained JS port; a linear model over ~9 rank/affinity features is what the data
// supports and serves with one dot product per candidate.

import LogisticRegression from 'ml-logistic-regression'
import { Matrix } from 'ml-matrix'
import { mulberry32 } from '../../db/seed/prng'
import type { BlendArtefact, ProductFacts } from '../../src/modules/ml/artefacts'
import { candidateFeatures, FEATURES, standardize, userProfile } from '../../src/modules/recommendations/features'
import type { ContentModel } from '../../src/modules/recommendations/scorers'
import type { Dataset } from './dataset'
import {
  type AlsTrainParams,
  type BaseModels,
  baseLists,
  type ContentParams,
  fitAlsModel,
  fitCooccurrence,
  fitSegmentModel,
  type SegmentParams,
  userContexts,
} from './pipeline'

export type BlendParams = {
  candidates: number
  negativesPerPositive: number
  numSteps: number
  learningRate: number
  maxUsers?: number
  seed?: number
}
export type BaseParams = { als: AlsTrainParams; content: ContentParams; segment: SegmentParams & { bestSellers: number } }

export function productFacts(ds: Dataset): Map<string, ProductFacts> {
  const orders = new Map<string, number>()
  for (const o of ds.orders) if (o.completed) for (const i of o.items) orders.set(i, (orders.get(i) ?? 0) + 1)
  return new Map(ds.products.map((p) => [p.id, { root: p.root, priceCents: p.priceCents, orders: orders.get(p.id) ?? 0 }]))
}

/** Holds out each customer's last completed order (customers with ≥ 2 completed orders). */
export function leaveLastOut(ds: Dataset): { train: Dataset; targets: Map<string, { at: number; items: Set<string> }> } {
  const last = new Map<string, number>()
  const completedCount = new Map<string, number>()
  ds.orders.forEach((o, j) => {
    if (!o.completed) return
    last.set(o.userId, j)
    completedCount.set(o.userId, (completedCount.get(o.userId) ?? 0) + 1)
  })
  const held = new Set<number>()
  const targets = new Map<string, { at: number; items: Set<string> }>()
  for (const [u, j] of last) {
    if ((completedCount.get(u) ?? 0) < 2) continue
    held.add(j)
    const o = ds.orders[j] as Dataset['orders'][number]
    targets.set(u, { at: o.at, items: new Set(o.items) })
  }
  const orders = ds.orders.filter((o, j) => !held.has(j) && !(targets.has(o.userId) && o.at > (targets.get(o.userId) as { at: number }).at))
  return { train: { ...ds, orders }, targets }
}

export function fitBase(ds: Dataset, p: BaseParams, content: ContentModel): BaseModels {
  const cooc = fitCooccurrence(ds)
  return {
    als: fitAlsModel(ds, p.als).model,
    content,
    segment: fitSegmentModel(ds, p.segment).model,
    cooc: cooc.lists,
    popular: cooc.popular,
  }
}

export function trainBlend(
  ds: Dataset,
  p: BlendParams,
  base: BaseParams,
  content: ContentModel,
): { artefact: BlendArtefact; metrics: Record<string, number> } {
  const { train, targets } = leaveLastOut(ds)
  const models = fitBase(train, base, content)
  const ctxs = userContexts(train)
  const facts = productFacts(train)
  let maxOrders = 1
  for (const f of facts.values()) maxOrders = Math.max(maxOrders, f.orders)
  const rand = mulberry32(p.seed ?? 42)
  const X: number[][] = []
  const y: number[] = []
  let users = 0
  for (const [userId, target] of targets) {
    if (p.maxUsers && users >= p.maxUsers) break
    const ctx = ctxs.get(userId)
    if (!ctx) continue
    const wanted = [...target.items].filter((i) => !ctx.owned.has(i))
    if (wanted.length === 0) continue
    users++
    const lists = baseLists(models, ctx, p.candidates)
    const { ids, rows } = candidateFeatures(
      lists,
      userProfile(ctx.history, (id) => facts.get(id), target.at),
      (id) => facts.get(id),
      maxOrders,
    )
    const pos = ids.map((id) => target.items.has(id))
    const nPos = pos.filter(Boolean).length
    const keepNeg = nPos === 0 ? 1 / ids.length : Math.min(1, (p.negativesPerPositive * nPos) / Math.max(1, ids.length - nPos))
    ids.forEach((_, j) => {
      if (pos[j] || rand() < keepNeg) {
        X.push(rows[j] as number[])
        y.push(pos[j] ? 1 : 0)
      }
    })
  }
  const positives = y.filter((v) => v === 1).length
  if (positives === 0 || positives === y.length) throw new Error(`blend: need both classes (rows ${y.length}, positives ${positives})`)
  const d = FEATURES.length
  const mean = Array.from({ length: d }, (_, j) => X.reduce((s, r) => s + (r[j] as number), 0) / X.length)
  const std = Array.from(
    { length: d },
    (_, j) => Math.sqrt(X.reduce((s, r) => s + ((r[j] as number) - (mean[j] as number)) ** 2, 0) / X.length) || 1,
  )
  // The library has no intercept: a constant column is the bias. Its gradient is a SUM over rows,
  // so the step is divided by the row count.
  const Z = new Matrix(X.map((r) => [...r.map((v, j) => standardize(v, mean[j] as number, std[j] as number)), 1]))
  const lr = new LogisticRegression({ numSteps: p.numSteps, learningRate: p.learningRate / X.length })
  lr.train(Z, Matrix.columnVector(y))
  // Two classes, one-vs-rest: classifiers[0] separates "not class 0" = P(positive).
  const weights = (lr.classifiers[0] as { weights: Matrix }).weights.to1DArray()
  const allFacts = productFacts(ds)
  const artefact: BlendArtefact = {
    kind: 'blend',
    features: [...FEATURES],
    weights,
    mean,
    std,
    products: Object.fromEntries([...allFacts].map(([id, f]) => [id, [f.root, f.priceCents, f.orders]])),
  }
  return { artefact, metrics: { rows: y.length, positives, users } }
}
