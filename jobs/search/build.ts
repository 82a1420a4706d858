// The `search` / `build-index` job: learns the embeddings from the catalog (TF-IDF + truncated
// SVD over name, brand, category path and description) or runs the local ONNX model
// (EMBEDDING_MODEL_DIR), embeds every live product, builds the ANN graph when the catalog is too
// big for an exact scan, and stores it all as one checksummed version. API processes pick the
// new version up on their next refresh (SEARCH_INDEX_REFRESH_MS).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { searchIndexVersions } from '../../db/schema'
import { config } from '../../src/config'
import { db } from '../../src/infra/db'
import { logger } from '../../src/infra/logger'
import { type Artefact, checksum, encodeIds, encodeModel, floatsToBuffer } from '../../src/modules/search/artefact'
import { type EmbeddingProvider, OnnxProvider, productText } from '../../src/modules/search/embedder'
import { productsForIndex } from '../../src/modules/search/source'
import { EXACT_SCAN_MAX, newAnn } from '../../src/modules/search/vector-index'
import { fitSvd } from './svd-fit'

/** Versions kept besides the newest (a reload in flight still finds the one it read). */
const KEEP_VERSIONS = 2

export type BuildResult = { version: number; provider: string; dims: number; docCount: number; checksum: string; ms: number }

function annBytes(vectors: Float32Array, dims: number, n: number): Buffer {
  const index = newAnn(dims)
  const keys = new BigUint64Array(n)
  for (let i = 0; i < n; i++) keys[i] = BigInt(i)
  index.add(keys, vectors, 0)
  const dir = mkdtempSync(join(tmpdir(), 'stampede-ann-'))
  try {
    index.save(join(dir, 'index.usearch'))
    return readFileSync(join(dir, 'index.usearch'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function buildSearchIndex(opts: { dims?: number } = {}): Promise<BuildResult> {
  const t0 = performance.now()
  const asOf = new Date().toISOString()
  const rows = await productsForIndex()
  const texts = rows.map(productText)
  const provider: EmbeddingProvider = config.EMBEDDING_MODEL_DIR
    ? await OnnxProvider.load(config.EMBEDDING_MODEL_DIR, asOf)
    : await fitSvd(texts, asOf, opts.dims)
  const vecs = await provider.embed(texts)
  const dims = provider.dims
  const vectors = new Float32Array(rows.length * dims)
  for (const [i, v] of vecs.entries()) vectors.set(v, i * dims)
  const artefact: Artefact = {
    provider: provider.name,
    dims,
    model: encodeModel(provider.toJSON()),
    ids: encodeIds(rows.map((r) => r.id)),
    vectors: floatsToBuffer(vectors),
    ann: rows.length > EXACT_SCAN_MAX ? annBytes(vectors, dims, rows.length) : null,
  }
  const sum = checksum(artefact)
  const ms = Math.round(performance.now() - t0)
  // One statement carries the whole artefact (~60 MB at 100k products): in a ROLE=all process the
  // API's 5 s statement timeout would apply, so the batch statement gets the worker's.
  const version = await db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('statement_timeout', ${String(config.WORKER_STATEMENT_TIMEOUT_MS)}, true)`)
    const [row] = await tx
      .insert(searchIndexVersions)
      .values({ ...artefact, docCount: rows.length, checksum: sum, buildMs: ms })
      .returning({ version: searchIndexVersions.version })
    return row?.version as number
  })
  await db.execute(sql`delete from search_index_versions where version <= ${version - 1 - KEEP_VERSIONS}`)
  logger.info({ version, provider: provider.name, dims, docs: rows.length, ms }, 'search index built')
  return { version, provider: provider.name, dims, docCount: rows.length, checksum: sum, ms }
}
