// Content model: TF-IDF (src/lib/text) over name, description and category path, and each
// product's top-N cosine neighbours. Neighbours come from an inverted index (term → postings), so
// a product is compared only with products sharing a term, not with the whole catalogue; terms in
// more than `maxDfRatio` of products are dropped (they carry no "similar" signal and would make
// every posting list long).
import { type SparseVector } from '../../src/lib/text/sparse'
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
    for (let j = 0; j < v.indices.length; j++) (postings[v.indices[j] as number] as { doc: number; w: number }[]).push({ doc: d, w: v.values[j] as number })
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
    const top = touched
      .map((doc): [number, number] => [doc, acc[doc] as number])
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, params.neighbours)
      .map(([doc, s]): [number, number] => [doc, Math.round(s * 1e6) / 1e6])
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
