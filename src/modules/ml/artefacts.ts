// Model artefacts: what training writes into ml_models.artefact and what the API loads. One codec
// (gzip of JSON, float factors as base64 of Float32Array bytes) so a corrupt or truncated artefact
// fails to decode loudly instead of serving garbage; the registry also checks a sha256 first.
import type { TfIdfJSON } from '../../lib/text/tfidf'

export type AlsArtefact = {
  kind: 'als'
  factors: number
  userIds: string[]
  itemIds: string[]
  /** base64 Float32Array, users × factors */
  X: string
  /** base64 Float32Array, items × factors */
  Y: string
}

export type ContentArtefact = {
  kind: 'content'
  params: Record<string, unknown>
  vectorizer: TfIdfJSON
  ids: string[]
  /** per product: [term indices, weights] (L2-normalised TF-IDF) */
  vectors: [number[], number[]][]
  /** per product: [product index, cosine] best first */
  neighbours: [number, number][][]
}

export type SegmentDescription = {
  segment: number
  size: number
  label: string
  description: string
  centroid: { recencyDays: number; orders: number; monetaryCents: number }
}

export type SegmentArtefact = {
  kind: 'segment'
  k: number
  silhouette: number
  tried: { k: number; silhouette: number }[]
  segments: SegmentDescription[]
  /** per segment: best-selling product ids among its members, best first */
  bestSellers: string[][]
  /** user id → segment: the artefact carries it so a rollback serves the matching assignment
   *  (user_segments is the SQL projection of the latest training) */
  assignment: Record<string, number>
}

/** Product facts the blend's features read (a snapshot taken at training time). */
export type ProductFacts = { root: number; priceCents: number; orders: number }

export type BlendArtefact = {
  kind: 'blend'
  features: string[]
  /** logistic-regression weights over z-scored features, bias last */
  weights: number[]
  mean: number[]
  std: number[]
  /** product id → [root category index, price cents, completed orders] */
  products: Record<string, [number, number, number]>
}

export type Artefact = AlsArtefact | ContentArtefact | SegmentArtefact | BlendArtefact

export function encodeFloats(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')
}

export function decodeFloats(s: string): Float32Array {
  const b = Buffer.from(s, 'base64')
  if (b.byteLength % 4 !== 0) throw new Error('artefact: float array length is not a multiple of 4')
  const out = new Float32Array(b.byteLength / 4)
  new Uint8Array(out.buffer).set(b)
  return out
}

export function encodeArtefact(a: Artefact): Uint8Array {
  return Bun.gzipSync(new TextEncoder().encode(JSON.stringify(a)))
}

export function decodeArtefact(bytes: Uint8Array): Artefact {
  const a = JSON.parse(new TextDecoder().decode(Bun.gunzipSync(bytes as Uint8Array<ArrayBuffer>))) as Artefact
  if (!a || typeof a !== 'object' || !('kind' in a)) throw new Error('artefact: no kind')
  return a
}

export function checksum(bytes: Uint8Array): string {
  return new Bun.CryptoHasher('sha256').update(bytes as Uint8Array<ArrayBuffer>).digest('hex')
}
