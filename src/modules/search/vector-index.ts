// The in-process vector index: one loaded version (verified against its checksum), searched with a
// usearch HNSW graph or, for small catalogs, an exact scan. Products changed since the version was
// built are folded in by the refresh loop (embedded with the version's own model), so an edit
// reaches semantic search within SEARCH_INDEX_REFRESH_MS. A missing or corrupt version leaves the
// index unavailable: search serves keyword-only, /ready says why, and a rebuild is requested.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import usearch from 'usearch'
import { db } from '../../infra/db'
import { logger } from '../../infra/logger'
import { bufferToFloats, checksum, decodeIds, decodeModel } from './artefact'
import { type EmbeddingProvider, productText, providerFromJSON } from './embedder'
import { productsForIndex } from './source'

/** Up to this many vectors an exact scan is used (64 dims × 20k ≈ 1 ms); past it, HNSW (0.2 ms at 100k, measured). */
export const EXACT_SCAN_MAX = 20_000
export const ANN_PARAMS = { connectivity: 16, expansion_add: 64, expansion_search: 128 }

export type Ann = InstanceType<typeof usearch.Index>

/** An empty cosine HNSW graph (float32, one vector per key). */
export function newAnn(dims: number): Ann {
  return new usearch.Index({
    dimensions: dims,
    metric: usearch.MetricKind.Cos,
    quantization: usearch.ScalarKind.F32,
    multi: false,
    ...ANN_PARAMS,
  })
}

export class VectorIndex {
  private vectors: Float32Array
  private readonly ids: string[]
  private readonly slotOf = new Map<string, number>()
  private liveMask: Uint8Array
  /** products changed after this instant (ISO, microseconds) still need folding in */
  watermark: string

  constructor(
    readonly version: number,
    readonly provider: EmbeddingProvider,
    ids: string[],
    vectors: Float32Array,
    private readonly ann: Ann | null,
    asOf: string,
  ) {
    this.ids = ids
    this.vectors = vectors
    this.liveMask = new Uint8Array(Math.max(16, ids.length)).fill(1, 0, ids.length)
    ids.forEach((id, i) => {
      this.slotOf.set(id, i)
    })
    this.watermark = asOf.replace(/\.(\d{3})Z$/, '.$1000Z')
  }

  get size(): number {
    return this.slotOf.size
  }

  get dims(): number {
    return this.provider.dims
  }

  /** The k nearest live products by cosine similarity, best first. */
  search(q: Float32Array, k: number): { id: string; score: number }[] {
    if (this.ann) {
      const r = this.ann.search(q, k, 0)
      const out: { id: string; score: number }[] = []
      for (let i = 0; i < r.keys.length; i++) {
        const slot = Number(r.keys[i])
        if (this.liveMask[slot]) out.push({ id: this.ids[slot] as string, score: 1 - (r.distances[i] as number) })
      }
      return out
    }
    const d = this.dims
    const n = this.ids.length
    const best: { slot: number; score: number }[] = []
    let floor = -Infinity
    for (let s = 0; s < n; s++) {
      if (!this.liveMask[s]) continue
      let dot = 0
      const o = s * d
      for (let j = 0; j < d; j++) dot += (this.vectors[o + j] as number) * (q[j] as number)
      if (best.length < k || dot > floor) {
        best.push({ slot: s, score: dot })
        if (best.length > k) {
          best.sort((a, b) => b.score - a.score || a.slot - b.slot)
          best.pop()
          floor = (best[best.length - 1] as { score: number }).score
        }
      }
    }
    best.sort((a, b) => b.score - a.score || a.slot - b.slot)
    return best.map((b) => ({ id: this.ids[b.slot] as string, score: b.score }))
  }

  upsert(id: string, v: Float32Array): void {
    let slot = this.slotOf.get(id)
    if (slot === undefined) {
      slot = this.ids.length
      this.ids.push(id)
      this.slotOf.set(id, slot)
      if (this.vectors.length < (slot + 1) * this.dims) {
        const grown = new Float32Array(Math.max((slot + 1) * this.dims, this.vectors.length * 2))
        grown.set(this.vectors)
        this.vectors = grown
      }
      if (this.liveMask.length <= slot) {
        const m = new Uint8Array(this.liveMask.length * 2)
        m.set(this.liveMask)
        this.liveMask = m
      }
    } else if (this.ann) this.ann.remove(BigInt(slot))
    this.vectors.set(v, slot * this.dims)
    this.liveMask[slot] = 1
    if (this.ann) this.ann.add(BigInt(slot), v)
  }

  remove(id: string): void {
    const slot = this.slotOf.get(id)
    if (slot === undefined) return
    this.liveMask[slot] = 0
    this.slotOf.delete(id)
    if (this.ann) this.ann.remove(BigInt(slot))
  }
}

export type IndexStatus = 'loading' | 'ready' | 'missing' | 'corrupt' | 'error'
type Row = {
  version: number
  provider: string
  dims: number
  doc_count: number
  checksum: string
  model: Buffer
  ids: Buffer
  vectors: Buffer
  ann: Buffer | null
}

/** Verifies and loads one stored version; throws CorruptIndex when the bytes are not what was built. */
export async function loadVersion(row: Row): Promise<VectorIndex> {
  const sum = checksum({ model: row.model, ids: row.ids, vectors: row.vectors, ann: row.ann })
  if (sum !== row.checksum) throw new CorruptIndex(`version ${row.version}: checksum mismatch`)
  let model: ReturnType<typeof decodeModel>
  try {
    model = decodeModel(row.model)
  } catch (err) {
    throw new CorruptIndex(`version ${row.version}: model unreadable (${(err as Error).message})`)
  }
  const ids = decodeIds(row.ids)
  const vectors = bufferToFloats(row.vectors)
  if (ids.length !== row.doc_count || vectors.length !== row.doc_count * row.dims) {
    throw new CorruptIndex(`version ${row.version}: ${ids.length} ids / ${vectors.length} floats for ${row.doc_count} × ${row.dims}`)
  }
  const provider = await providerFromJSON(model)
  let ann: Ann | null = null
  if (row.ann) {
    // usearch loads from a path only; the file is read into memory and removed at once.
    const dir = mkdtempSync(join(tmpdir(), 'stampede-ann-'))
    try {
      writeFileSync(join(dir, 'index.usearch'), row.ann)
      ann = newAnn(row.dims)
      ann.load(join(dir, 'index.usearch'))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    if (ann.size() !== row.doc_count) throw new CorruptIndex(`version ${row.version}: ANN holds ${ann.size()} of ${row.doc_count} vectors`)
  }
  return new VectorIndex(row.version, provider, ids, vectors, ann, model.asOf)
}

export class CorruptIndex extends Error {}

/** Longer than any catalog write transaction (statement timeout 5 s): upserts are idempotent. */
const FOLD_IN_OVERLAP_MS = 10_000

/** Embeds and applies every product changed after the watermark (deleted ones leave the index). */
export async function foldIn(index: VectorIndex): Promise<number> {
  // A write's updated_at is taken before it commits: re-read an overlap so a slow commit is not skipped.
  const rows = await productsForIndex(new Date(Date.parse(index.watermark) - FOLD_IN_OVERLAP_MS))
  if (rows.length === 0) return 0
  const live = rows.filter((r) => !r.deleted)
  const vecs = await index.provider.embed(live.map(productText))
  live.forEach((r, i) => {
    index.upsert(r.id, vecs[i] as Float32Array)
  })
  for (const r of rows) if (r.deleted) index.remove(r.id)
  // Same format on both sides (to_char with microseconds), so string order is time order.
  index.watermark = rows.reduce((m, r) => (r.updatedAt > m ? r.updatedAt : m), index.watermark)
  return rows.length
}

/** The newest stored version's number (null: none built yet). */
export async function latestVersion(): Promise<number | null> {
  const [row] = (await db.execute<{ v: number | null }>(sql`select max(version) as v from search_index_versions`)) as unknown as {
    v: number | null
  }[]
  return row?.v ?? null
}

export async function readVersion(version: number): Promise<Row | null> {
  const [row] = (await db.execute<Row>(
    sql`select version, provider, dims, doc_count, checksum, model, ids, vectors, ann from search_index_versions where version = ${version}`,
  )) as unknown as Row[]
  return row ?? null
}

export function logIndexLoaded(ix: VectorIndex, ms: number): void {
  logger.info({ version: ix.version, provider: ix.provider.name, docs: ix.size, dims: ix.dims, ms: Math.round(ms) }, 'search index loaded')
}
