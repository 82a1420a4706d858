// Serving forms of the model artefacts: decoded once per loaded version (factors as typed arrays,
// id → index maps, the TF-IDF vectorizer), so a request does no parsing.
import type { SparseVector } from '../../lib/text/sparse'
import { TfIdfVectorizer } from '../../lib/text/tfidf'
import { type Artefact, type BlendArtefact, decodeFloats, type ProductFacts, type SegmentDescription } from './artefacts'

export type AlsModel = {
  k: number
  userIndex: Map<string, number>
  itemIds: string[]
  itemIndex: Map<string, number>
  X: Float32Array
  Y: Float32Array
}
export type ContentModel = {
  ids: string[]
  index: Map<string, number>
  neighbours: [number, number][][]
  vectorizer: TfIdfVectorizer
  vectors: SparseVector[]
}
export type SegmentModel = {
  k: number
  silhouette: number
  segments: SegmentDescription[]
  bestSellers: string[][]
  assignment: Map<string, number>
}
export type BlendModel = { weights: number[]; mean: number[]; std: number[]; facts: Map<string, ProductFacts>; maxOrders: number }

/** Decodes an artefact into its serving form (once per loaded version). */
export function prepare(a: Artefact): AlsModel | ContentModel | SegmentModel | BlendModel {
  switch (a.kind) {
    case 'als': {
      const X = decodeFloats(a.X)
      const Y = decodeFloats(a.Y)
      if (X.length !== a.userIds.length * a.factors || Y.length !== a.itemIds.length * a.factors)
        throw new Error('als: factor shapes do not match ids')
      return {
        k: a.factors,
        userIndex: new Map(a.userIds.map((u, i) => [u, i])),
        itemIds: a.itemIds,
        itemIndex: new Map(a.itemIds.map((p, i) => [p, i])),
        X,
        Y,
      }
    }
    case 'content':
      return {
        ids: a.ids,
        index: new Map(a.ids.map((p, i) => [p, i])),
        neighbours: a.neighbours,
        vectorizer: TfIdfVectorizer.fromJSON(a.vectorizer),
        vectors: a.vectors.map(([ix, v]) => ({ indices: Uint32Array.from(ix), values: Float64Array.from(v) })),
      }
    case 'segment':
      return {
        k: a.k,
        silhouette: a.silhouette,
        segments: a.segments,
        bestSellers: a.bestSellers,
        assignment: new Map(Object.entries(a.assignment)),
      }
    case 'blend':
      return prepareBlend(a)
  }
}

function prepareBlend(a: BlendArtefact): BlendModel {
  const facts = new Map<string, ProductFacts>()
  let maxOrders = 1
  for (const [id, [root, priceCents, orders]] of Object.entries(a.products)) {
    facts.set(id, { root, priceCents, orders })
    maxOrders = Math.max(maxOrders, orders)
  }
  return { weights: a.weights, mean: a.mean, std: a.std, facts, maxOrders }
}
