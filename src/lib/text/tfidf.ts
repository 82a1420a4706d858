// Vocabulary + TF-IDF fitted on a corpus of token lists; vectors are sparse and L2-normalised, so
// cosine(a, b) = dot(a, b). The formula (smooth idf ln((1+n)/(1+df))+1, optional sublinear tf) is
// scikit-learn's TfidfVectorizer default; it is ~30 lines, and the npm options either lack sparse
// vectors (natural's TfIdf answers tfidf(term, doc) one term at a time) or need a language model
// package (wink-nlp), so it is written here and tested beside this file.
import { normalize, type SparseVector, sparseFromMap } from './sparse'

export class Vocabulary {
  private readonly ids = new Map<string, number>()
  readonly terms: string[] = []

  constructor(terms: Iterable<string> = []) {
    for (const t of terms) this.add(t)
  }

  /** The term's index, adding it if new. */
  add(term: string): number {
    let id = this.ids.get(term)
    if (id === undefined) {
      id = this.terms.length
      this.ids.set(term, id)
      this.terms.push(term)
    }
    return id
  }

  get(term: string): number | undefined {
    return this.ids.get(term)
  }

  get size(): number {
    return this.terms.length
  }
}

export interface TfIdfOptions {
  /** Terms in fewer documents than this are dropped (default 1: keep all). */
  minDf?: number
  /** Terms in more than this share of documents are dropped (default 1: keep all). */
  maxDfRatio?: number
  /** tf → 1 + ln(tf) (default true): a word repeated ten times is not ten times the evidence. */
  sublinearTf?: boolean
}

export interface TfIdfJSON {
  terms: string[]
  idf: number[]
  sublinearTf: boolean
}

export class TfIdfVectorizer {
  private constructor(
    readonly vocabulary: Vocabulary,
    readonly idf: Float64Array,
    readonly sublinearTf: boolean,
  ) {}

  static fit(docs: readonly (readonly string[])[], opts: TfIdfOptions = {}): TfIdfVectorizer {
    const minDf = opts.minDf ?? 1
    const maxDf = (opts.maxDfRatio ?? 1) * docs.length
    const df = new Map<string, number>()
    for (const doc of docs) for (const t of new Set(doc)) df.set(t, (df.get(t) ?? 0) + 1)
    const kept = [...df.entries()]
      .filter(([, n]) => n >= minDf && n <= maxDf)
      .map(([t]) => t)
      .sort()
    const vocabulary = new Vocabulary(kept)
    const n = docs.length
    const idf = new Float64Array(kept.length)
    kept.forEach((t, i) => {
      idf[i] = Math.log((1 + n) / (1 + (df.get(t) as number))) + 1
    })
    return new TfIdfVectorizer(vocabulary, idf, opts.sublinearTf ?? true)
  }

  static fromJSON(j: TfIdfJSON): TfIdfVectorizer {
    if (j.terms.length !== j.idf.length) throw new Error('tfidf: terms and idf lengths differ')
    return new TfIdfVectorizer(new Vocabulary(j.terms), Float64Array.from(j.idf), j.sublinearTf)
  }

  toJSON(): TfIdfJSON {
    return { terms: this.vocabulary.terms, idf: [...this.idf], sublinearTf: this.sublinearTf }
  }

  get size(): number {
    return this.vocabulary.size
  }

  /** L2-normalised TF-IDF vector; unknown terms are ignored. */
  transform(tokens: readonly string[]): SparseVector {
    const tf = new Map<number, number>()
    for (const t of tokens) {
      const id = this.vocabulary.get(t)
      if (id !== undefined) tf.set(id, (tf.get(id) ?? 0) + 1)
    }
    for (const [id, c] of tf) {
      const w = this.sublinearTf ? 1 + Math.log(c) : c
      tf.set(id, w * (this.idf[id] as number))
    }
    return normalize(sparseFromMap(tf))
  }

  static fitTransform(
    docs: readonly (readonly string[])[],
    opts: TfIdfOptions = {},
  ): { vectorizer: TfIdfVectorizer; vectors: SparseVector[] } {
    const vectorizer = TfIdfVectorizer.fit(docs, opts)
    return { vectorizer, vectors: docs.map((d) => vectorizer.transform(d)) }
  }
}
