// Embedding providers: text → unit-length float32 vectors. The default ('svd') is learned from the
// shop's own catalog by the `search` / `build-index` job (TF-IDF + truncated SVD, see
// jobs/search/svd.ts); this file only applies a learned model (inference), it never trains.
// 'onnx' runs a local sentence-embedding model directory (EMBEDDING_MODEL_DIR) through
// @huggingface/transformers with remote loading disabled: nothing is ever downloaded.
import { type TfIdfJSON, TfIdfVectorizer } from '../../lib/text/tfidf'
import { tokenize } from '../../lib/text/tokenize'

export type ProviderName = 'svd' | 'onnx'

export interface EmbeddingProvider {
  readonly name: ProviderName
  readonly dims: number
  /** One unit-length vector per text; an all-zero vector when nothing in the text is known. */
  embed(texts: readonly string[]): Promise<Float32Array[]>
  /** The parameters to store in an index version (gzip'd JSON). */
  toJSON(): SvdModelJSON | OnnxModelJSON
  /** False when the text has a word the model never learned (a model code, a brand-new name). */
  knows(text: string): boolean
}

/** What a product contributes to its vector: name twice (it matters most), brand, category path, description. */
export type ProductText = { name: string; brand: string | null; categoryPath: string; description: string }
export const productText = (p: ProductText): string => `${p.name}. ${p.name}. ${p.brand ?? ''}. ${p.categoryPath}. ${p.description}`

export function normalizeInPlace(v: Float32Array): Float32Array {
  let s = 0
  for (const x of v) s += x * x
  if (s > 0) {
    const inv = 1 / Math.sqrt(s)
    for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) * inv
  }
  return v
}

export type SvdModelJSON = {
  provider: 'svd'
  tfidf: TfIdfJSON
  dims: number
  /** vocabulary × dims float32, base64: a TF-IDF vector times this is the embedding. */
  projection: string
  /** products updated after this instant are not in the vectors (the API folds them in). */
  asOf: string
}

/** TF-IDF + truncated SVD: embedding = normalise(tfidf(text) · V_k). */
export class SvdProvider implements EmbeddingProvider {
  readonly name = 'svd' as const
  constructor(
    readonly vectorizer: TfIdfVectorizer,
    /** vocabulary × dims, row-major */
    readonly projection: Float32Array,
    readonly dims: number,
    readonly asOf: string,
  ) {
    if (projection.length !== vectorizer.size * dims) throw new Error('svd model: projection size does not match vocabulary × dims')
  }

  static fromJSON(j: SvdModelJSON): SvdProvider {
    const bytes = Buffer.from(j.projection, 'base64')
    const projection = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
    return new SvdProvider(TfIdfVectorizer.fromJSON(j.tfidf), projection, j.dims, j.asOf)
  }

  toJSON(): SvdModelJSON {
    const p = this.projection
    return {
      provider: 'svd',
      tfidf: this.vectorizer.toJSON(),
      dims: this.dims,
      projection: Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString('base64'),
      asOf: this.asOf,
    }
  }

  knows(text: string): boolean {
    return tokenize(text).every((t) => this.vectorizer.vocabulary.get(t) !== undefined)
  }

  embedOne(text: string): Float32Array {
    const sv = this.vectorizer.transform(tokenize(text))
    const k = this.dims
    const out = new Float32Array(k)
    for (let j = 0; j < sv.indices.length; j++) {
      const row = (sv.indices[j] as number) * k
      const w = sv.values[j] as number
      for (let d = 0; d < k; d++) out[d] = (out[d] as number) + w * (this.projection[row + d] as number)
    }
    return normalizeInPlace(out)
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.embedOne(t))
  }
}

export type OnnxModelJSON = { provider: 'onnx'; dir: string; dims: number; asOf: string }

type FeatureExtractor = (texts: string[], o: { pooling: 'mean'; normalize: boolean }) => Promise<{ data: Float32Array; dims: number[] }>

/**
 * A local ONNX sentence-embedding model (a directory with config.json, tokenizer.json and
 * onnx/model.onnx, as transformers.js expects). Remote loading is switched off before anything
 * is loaded, so a missing file is an error at boot, never a download.
 */
export class OnnxProvider implements EmbeddingProvider {
  readonly name = 'onnx' as const
  private constructor(
    private readonly extract: FeatureExtractor,
    readonly dir: string,
    readonly dims: number,
    readonly asOf: string,
  ) {}

  static async load(dir: string, asOf = new Date().toISOString()): Promise<OnnxProvider> {
    const { env, pipeline } = await import('@huggingface/transformers')
    env.allowRemoteModels = false
    env.allowLocalModels = true
    const path = await import('node:path')
    env.localModelPath = path.dirname(path.resolve(dir))
    const extract = (await pipeline('feature-extraction', path.basename(path.resolve(dir)), {
      local_files_only: true,
    })) as unknown as FeatureExtractor
    const probe = await extract(['probe'], { pooling: 'mean', normalize: true })
    return new OnnxProvider(extract, dir, probe.dims[1] as number, asOf)
  }

  /** Subword tokenisation: every text is representable. */
  knows(): boolean {
    return true
  }

  toJSON(): OnnxModelJSON {
    return { provider: 'onnx', dir: this.dir, dims: this.dims, asOf: this.asOf }
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = []
    for (let i = 0; i < texts.length; i += 32) {
      const batch = texts.slice(i, i + 32)
      const t = await this.extract([...batch], { pooling: 'mean', normalize: true })
      for (let b = 0; b < batch.length; b++) out.push(t.data.slice(b * this.dims, (b + 1) * this.dims))
    }
    return out
  }
}

/** The provider an index version was built with (its stored parameters). */
export async function providerFromJSON(j: SvdModelJSON | OnnxModelJSON): Promise<EmbeddingProvider> {
  if (j.provider === 'svd') return SvdProvider.fromJSON(j)
  return OnnxProvider.load(j.dir, j.asOf)
}
