// Hybrid search (issue 24): keyword candidates (the catalog's full-text search) and semantic
// candidates (the vector index) fused by weighted RRF, then the ranking stage. Every fallback is
// taken here and named in the answer: no index → keyword-only; semantic retrieval failing or its
// circuit open → keyword-only; ranking failing or over its budget → popularity order.
import { sql } from 'drizzle-orm'
import { config } from '../../config'
import { db } from '../../infra/db'
import { counter } from '../../infra/metrics'
import { encodeCursor } from '../../lib/cursor'
import { ValidationProblem } from '../../lib/errors'
import { withTimeout } from '../../lib/timeout'
import { isUuid } from '../../lib/uuid'
import type { SearchMode } from '../catalog/model'
import {
  filterSql,
  type KeywordPage,
  keywordPage,
  type ListInput,
  type ListResponse,
  maxPurchases,
  recordSearch,
  WEBSEARCH_SYNTAX,
} from '../catalog/search'
import { getProductBodies } from '../catalog/service'
import { SearchBreaker } from './breaker'
import { currentIndex, indexState } from './index-state'
import { type Features, type Fused, fuse, popularityOrder, type Ranked, rank } from './ranking'
import { rulesFor } from './rules'
import type { VectorIndex } from './vector-index'

/** Candidates per retriever; a page holds at most 100, and fusion needs depth from both sides. */
export const CANDIDATES = 50
/** Below this cosine a neighbour is noise (eval: 0.2 → 0.35 cut the exact-match losses without costing synonym recall). */
export const MIN_SIMILARITY = 0.35

/** One breaker per dependency of the search path (replaceable: tests swap in a fresh one). */
export const searchBreakers = { semantic: new SearchBreaker('search-semantic'), ranking: new SearchBreaker('search-ranking') }

const served = counter('search_requests_total', 'Searches by requested and served mode', ['requested', 'served'])
const fallbacks = counter('search_fallbacks_total', 'Search fallbacks taken', ['reason'])

type Cursor = ['kw', string | null, string] | ['rs', number, string]

/**
 * Which of these products are in a live sale (the sales module registers it; search cannot import
 * an orchestrator). The answer lists them in `highlighted`; without a lookup, none are.
 */
export type SaleLookup = (productIds: readonly string[]) => Promise<ReadonlySet<string>>
let saleLookup: SaleLookup | null = null
export function setSaleLookup(f: SaleLookup | null): void {
  saleLookup = f
}

async function highlightedOf(ids: readonly string[], degraded: string[]): Promise<string[]> {
  if (!saleLookup || ids.length === 0) return []
  try {
    const live = await withTimeout(saleLookup(ids), config.SEARCH_RANKING_BUDGET_MS, 'sale lookup over its time budget')
    return ids.filter((id) => live.has(id))
  } catch {
    degraded.push('sale_highlight_unavailable')
    return []
  }
}

function decodeSearchCursor(raw: string | undefined): Cursor | undefined {
  if (!raw) return undefined
  let c: unknown
  try {
    c = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'))
  } catch {}
  const ok =
    Array.isArray(c) &&
    c.length === 3 &&
    isUuid(c[2]) &&
    ((c[0] === 'kw' && typeof c[1] === 'string' && c[1].length <= 500) ||
      (c[0] === 'rs' && Number.isInteger(c[1]) && c[1] > 0 && c[1] <= 1000))
  if (!ok) throw ValidationProblem.field('query.cursor', 'is not a cursor returned by this endpoint')
  return c as Cursor
}

/** Semantic candidates: nearest products above MIN_SIMILARITY, filtered like the listing. */
async function semanticIds(ix: VectorIndex, input: ListInput, q: string): Promise<string[]> {
  const [v] = await ix.provider.embed([q])
  if (!v || v.every((x) => x === 0)) return []
  const filtered =
    input.categoryId !== undefined || input.minPriceCents !== undefined || input.maxPriceCents !== undefined || input.inStock !== undefined
  const hits = ix.search(v, filtered ? CANDIDATES * 4 : CANDIDATES).filter((h) => h.score >= MIN_SIMILARITY)
  if (!filtered || hits.length === 0) return hits.slice(0, CANDIDATES).map((h) => h.id)
  const ids = hits.map((h) => h.id)
  const rows = (await db.execute<{ id: string }>(
    sql`select p.id from products p where p.id = any(${`{${ids.join(',')}}`}::uuid[]) and p.deleted_at is null and ${sql.join(filterSql(input), sql` and `)}`,
  )) as unknown as { id: string }[]
  const keep = new Set(rows.map((r) => r.id))
  return ids.filter((id) => keep.has(id)).slice(0, CANDIDATES)
}

type Body = {
  json: string
  product: { id: string; purchaseCount: number; ratingCount: number; ratingAvg: number | null; createdAt: string; available: number }
}

async function bodiesOf(ids: string[]): Promise<Map<string, Body>> {
  const out = new Map<string, Body>()
  for (const b of await getProductBodies(ids)) {
    const product = JSON.parse(b.json) as Body['product']
    out.set(product.id, { json: b.json, product })
  }
  return out
}

function featuresOf(bodies: Map<string, Body>): Map<string, Features> {
  const f = new Map<string, Features>()
  for (const [id, { product: p }] of bodies) {
    f.set(id, {
      purchaseCount: p.purchaseCount,
      ratingCount: p.ratingCount,
      // The body carries the plain average; ratings are integers, so count × average is the exact sum.
      ratingSum: Math.round((p.ratingAvg ?? 0) * p.ratingCount),
      createdAt: new Date(p.createdAt),
      available: p.available,
    })
  }
  return f
}

/** The ranking stage under its breaker and time budget; on failure, scenario 1's popularity order. */
async function rankStage(q: string, fused: Fused[], bodies: Map<string, Body>, degraded: string[]): Promise<Ranked[]> {
  const features = featuresOf(bodies)
  try {
    return await searchBreakers.ranking.run(() =>
      withTimeout(
        (async () => {
          const [rules, max] = await Promise.all([rulesFor(q), popularityMax()])
          const pinIds = rules.filter((r) => r.action === 'pin' && !features.has(r.productId)).map((r) => r.productId)
          if (pinIds.length) {
            const more = await bodiesOf(pinIds)
            for (const [id, b] of more) bodies.set(id, b)
            for (const [id, f] of featuresOf(more)) features.set(id, f)
          }
          return rank(fused, features, rules, { now: new Date(), maxPurchases: max })
        })(),
        config.SEARCH_RANKING_BUDGET_MS,
        'ranking stage over its time budget',
      ),
    )
  } catch {
    degraded.push('ranking_fallback')
    fallbacks.inc({ reason: 'ranking_fallback' })
    return popularityOrder(fused, features)
  }
}

/** The popularity normaliser, kept 5 s per process (a top seller's count moves slowly; it was a read per search). */
let popMax: { value: number; at: number } | null = null
async function popularityMax(): Promise<number> {
  if (popMax && performance.now() - popMax.at < 5000) return popMax.value
  const value = await maxPurchases()
  popMax = { value, at: performance.now() }
  return value
}

type Outcome = {
  ids: string[]
  bodies: Map<string, Body> | null
  nextCursor: string | null
  mode: SearchMode
  total: number
  matcher: string
}

async function keywordOutcome(
  input: ListInput,
  searchId: string,
  inner: string | null | undefined,
): Promise<Outcome & { page: KeywordPage }> {
  const page = await keywordPage({ ...input, cursor: inner ?? undefined })
  const nextCursor = page.nextCursor ? encodeCursor(['kw', page.nextCursor, searchId]) : null
  return { ids: page.ids, bodies: null, nextCursor, mode: 'keyword', total: page.total, matcher: page.matcher, page }
}

export async function searchProducts(input: ListInput): Promise<ListResponse> {
  const t0 = performance.now()
  const q = (input.q ?? '').trim()
  const requested: SearchMode = input.mode ?? 'hybrid'
  const cursor = decodeSearchCursor(input.cursor)
  const searchId = cursor?.[2] ?? Bun.randomUUIDv7()
  const degraded: string[] = []
  let out: Outcome

  const sort = input.sort ?? 'relevance'
  if (cursor?.[0] === 'kw' || requested === 'keyword' || sort !== 'relevance') {
    out = await keywordOutcome(input, searchId, cursor?.[0] === 'kw' ? cursor[1] : undefined)
  } else {
    out = await rankedOutcome(input, q, requested, searchId, cursor?.[0] === 'rs' ? cursor[1] : 0, degraded)
  }
  // Keyword pages splice the cached bodies as the catalog does (in id order, deleted ones left out).
  const ranked = out.bodies
  const items = ranked
    ? out.ids.flatMap((id) => {
        const b = ranked.get(id)
        return b ? [b.json] : []
      })
    : (await getProductBodies(out.ids)).map((b) => b.json)
  const highlighted = await highlightedOf(out.ids, degraded)
  served.inc({ requested, served: out.mode })
  if (!cursor) {
    recordSearch({
      id: searchId,
      query: q,
      resultCount: out.total,
      matcher: out.matcher,
      userId: input.userId ?? null,
      mode: out.mode,
      requestedMode: requested,
      latencyMs: performance.now() - t0,
      degraded,
    })
  }
  const body = `{"items":[${items.join(',')}],"nextCursor":${JSON.stringify(out.nextCursor)},"searchMode":"${out.mode}","searchId":"${searchId}","degraded":${JSON.stringify(degraded)},"highlighted":${JSON.stringify(highlighted)}}`
  return { body, searchMode: out.mode }
}

async function rankedOutcome(
  input: ListInput,
  q: string,
  requested: SearchMode,
  searchId: string,
  offset: number,
  degraded: string[],
): Promise<Outcome> {
  const ix = currentIndex()
  // Identifier searches stay keyword-only: search syntax (quotes, -, or) or a word the model never
  // learned (a model code, a brand-new name) means the user wants those exact words, and a
  // neighbour of the remaining words would only push the exact hit down (eval: exact-match set).
  if (ix && requested === 'hybrid' && (WEBSEARCH_SYNTAX.test(q) || !ix.provider.knows(q))) return keywordOutcome(input, searchId, undefined)
  let semantic: string[] | null = null
  const kwPromise = requested === 'semantic' ? null : keywordPage({ ...input, cursor: undefined, limit: CANDIDATES, sort: 'relevance' })
  if (!ix) {
    degraded.push(`semantic_unavailable: ${indexState().reason ?? 'index not loaded'}`)
    fallbacks.inc({ reason: 'semantic_unavailable' })
  } else {
    try {
      semantic = await searchBreakers.semantic.run(() =>
        withTimeout(semanticIds(ix, input, q), config.SEARCH_SEMANTIC_BUDGET_MS, 'semantic retrieval over its time budget'),
      )
    } catch (err) {
      degraded.push(`semantic_failed: ${(err as Error).message}`)
      fallbacks.inc({ reason: 'semantic_failed' })
    }
  }
  // Without semantic candidates the keyword page itself is the answer (its own keyset pages).
  // Semantic found nothing (an unknown word, a model code): the hybrid answer is the keyword one.
  if (semantic === null || (semantic.length === 0 && kwPromise)) {
    await kwPromise?.catch(() => {})
    const kwOut = await keywordOutcome(input, searchId, undefined)
    return semantic === null ? kwOut : { ...kwOut, mode: 'hybrid' }
  }
  const kw = kwPromise ? await kwPromise : null
  const fused = fuse(kw?.ids ?? [], semantic)
  const bodies = await bodiesOf(fused.map((f) => f.id))
  const ranked = await rankStage(q, fused, bodies, degraded)
  const page = ranked.slice(offset, offset + input.limit)
  const more = offset + input.limit < ranked.length
  return {
    ids: page.map((r) => r.id),
    bodies,
    nextCursor: more ? encodeCursor(['rs', offset + input.limit, searchId]) : null,
    mode: kw ? 'hybrid' : 'semantic',
    total: Math.max(kw?.total ?? 0, ranked.length),
    matcher: kw?.matcher ?? 'semantic',
  }
}
