// Learns the default embedding model from product texts: TF-IDF (src/lib/text) then a truncated
// SVD of the document-term matrix (latent semantic analysis). Training code: jobs and scripts only.
import { TfIdfVectorizer } from '../../src/lib/text/tfidf'
import { tokenize } from '../../src/lib/text/tokenize'
import { SvdProvider } from '../../src/modules/search/embedder'
import { truncatedSvd } from './svd'

/** 64 dimensions by default (bun run eval:search --dims N compares others). */
export const SVD_DIMS = 64

export async function fitSvd(texts: readonly string[], asOf: string, dims = SVD_DIMS): Promise<SvdProvider> {
  const tokens = texts.map((t) => tokenize(t))
  // A word in one product only teaches nothing about co-occurrence; one in half of them is noise.
  const { vectorizer, vectors } = TfIdfVectorizer.fitTransform(tokens, { minDf: 2, maxDfRatio: 0.5 })
  const { projection, dims: k } = truncatedSvd(vectors, vectorizer.size, { dims, seed: 42 })
  return new SvdProvider(vectorizer, projection, k, asOf)
}
