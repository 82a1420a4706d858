// Content model: TF-IDF (src/lib/text) over name, description and category path, and each
// product's top-N cosine neighbours. Neighbours come from an inverted index (term → postings), so
// a product is compared only with products sharing a term, not with the whole catalogue; terms in
// more than `maxDfRatio` of products are dropped (they carry no "similar" signal and make posting
// lists long: on the 10k-product seed, 0.3 meant 144 M accumulations and 10 s of CPU, 0.1 means
// 30 M; the dropped terms are template words such as "designed", "comes", colours).
import { topN } from '../../src/lib/ml/dense'
import type { SparseVector } from '../../src/lib/text/sparse'
import { TfIdfVectorizer } from '../../src/lib/text/tfidf'
import { tokenize } from '../../src/lib/text/tokenize'
import type { ContentArtefact } from '../../src/modules/ml/artefacts'

export type ProductText = { id: string; name: string; description: string; brand: string | null; categoryPath: string }
export type ContentParams = { neighbours: number; maxDfRatio: number; nameWeight: number; categoryWeight: number }

/** Fields weighted by repetition: the name and category say more about "similar" than the prose. */
export function productTokens(p: Omit<ProductText, 'id'>, params: Pick<ContentParams, 'nameWeight' | 'categoryWeight'>): string[] {
  const name = tokenize(p.name)
  const cat = tokenize(`${p.categoryPath} ${p.brand ?? ''}`)
  const out: string[] = []
  for (let r = 0; r < params.nameWeight; r++) out.push(...name)
  for (let r = 0; r < params.categoryWeight; r++) out.push(...cat)
  out.push(...tokenize(p.description))
  return out
}

export function fitContent(products: readonly ProductText[], params: ContentParams): ContentArtefact {
  const docs = products.map((p) => productTokens(p, params))
  const { vectorizer, vectors } = TfIdfVectorizer.fitTransform(docs, { maxDfRatio: params.maxDfRatio, minDf: 1 })
  const postings: { doc: number; w: number }[][] = Array.from({ length: vectorizer.size }, () => [])
  vectors.forEach((v, d) => {
    for (let j = 0; j < v.indices.length; j++)
      (postings[v.indices[j] as number] as { doc: number; w: number }[]).push({ doc: d, w: v.values[j] as number })
  })
  const acc = new Float64Array(products.length)
  const touched: number[] = []
  const neighbours: [number, number][][] = vectors.map((v: SparseVector, d) => {
    for (let j = 0; j < v.indices.length; j++) {
      const w = v.values[j] as number
      for (const p of postings[v.indices[j] as number] as { doc: number; w: number }[]) {
        if (p.doc === d) continue
        if (acc[p.doc] === 0) touched.push(p.doc)
        acc[p.doc] = (acc[p.doc] as number) + w * p.w
      }
    }
    // Top-N by selection over the touched documents: a full sort of thousands of candidates per
    // product was most of the training time (27 s CPU for 10k seeded products).
    const scores = touched.map((doc) => acc[doc] as number)
    const top = topN(scores, params.neighbours).map((j): [number, number] => [
      touched[j] as number,
      Math.round((scores[j] as number) * 1e6) / 1e6,
    ])
    for (const doc of touched) acc[doc] = 0
    touched.length = 0
    return top
  })
  return {
    kind: 'content',
    params,
    vectorizer: vectorizer.toJSON(),
    ids: products.map((p) => p.id),
    vectors: vectors.map((v) => [[...v.indices], [...v.values].map((x) => Math.round(x * 1e6) / 1e6)]),
    neighbours,
  }
}
