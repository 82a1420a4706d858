// Product listing and search: filters, five sort orders, keyset pagination, full-text search with a
// type-ahead prefix and a trigram fallback for typos. Every sort is a total order (key, id), and the
// cursor carries the key as Postgres printed it plus the ranking context (now, top seller's count),
// so later pages compare against exactly the numbers the earlier page sorted by: no duplicates or
// gaps while rows are inserted (new rows may appear on later pages or not; existing rows never repeat).
import { type SQL, sql } from 'drizzle-orm'
import { db } from '../../infra/db'
import { logger } from '../../infra/logger'
import { key } from '../../infra/redis'
import { decodeCursor, INT4_MAX, isIsoInstant, isPgFloat, isPgInt4, isPgTimestamp, type Page, toPage } from '../../lib/cursor'
import { ValidationProblem } from '../../lib/errors'
import { type RankContext, rankScoreSql, relevanceSql } from '../../lib/ranking'
import { isUuid } from '../../lib/uuid'
import { type CachedBody, type CachedPage, cachedBody, FEATURED_KEY, featuredCache, listingGeneration, pageCache } from './cache'
import type { Product, ProductQuery, Sort } from './model'
import { getProductBodies } from './service'

export type ListInput = Omit<Partial<ProductQuery>, 'limit'> & { limit: number; userId?: string | null }
type Matcher = 'none' | 'fts' | 'trigram'

/** Minimum word_similarity for the typo fallback (pg_trgm's default, 0.6, misses one-letter typos in short words). */
export const TRIGRAM_THRESHOLD = 0.4

/** The top seller's purchase count (popularity normaliser): an index probe on products_purchase_idx. */
export async function maxPurchases(): Promise<number> {
  const [row] = await db.execute<{ m: number }>(
    sql`select coalesce(max(purchase_count), 0)::int as m from products where deleted_at is null`,
  )
  return Number(row?.m ?? 0)
}

export const WEBSEARCH_SYNTAX = /["()]|(^|\s)-|(^|\s)or(\s|$)/i

/** websearch_to_tsquery, with the last word as a prefix (`:*`) unless the user typed search syntax or a trailing space. */
export function tsQuerySql(q: string): SQL {
  const trimmed = q.trim()
  if (WEBSEARCH_SYNTAX.test(trimmed) || /\s$/.test(q)) return sql`websearch_to_tsquery('english', ${trimmed})`
  const words = trimmed.split(/\s+/)
  const last = (words.pop() ?? '').replace(/[^\p{L}\p{N}]/gu, '')
  if (!last) return sql`websearch_to_tsquery('english', ${trimmed})`
  return sql`(websearch_to_tsquery('english', ${words.join(' ')}) && to_tsquery('english', ${`${last}:*`}))`
}

type SortSpec = { expr: SQL; cast: string; dir: 'asc' | 'desc' }

function sortSpec(sort: Sort, matcher: Matcher, q: string, ctx: RankContext): SortSpec {
  const score = rankScoreSql(ctx, 'p')
  switch (sort) {
    case 'price_asc':
      return { expr: sql`p.price_cents`, cast: 'int', dir: 'asc' }
    case 'price_desc':
      return { expr: sql`p.price_cents`, cast: 'int', dir: 'desc' }
    case 'newest':
      return { expr: sql`p.created_at`, cast: 'timestamptz', dir: 'desc' }
    case 'rank':
      return { expr: score, cast: 'float8', dir: 'desc' }
    case 'relevance': {
      const text =
        matcher === 'fts'
          ? sql`ts_rank(p.search_vector, ${tsQuerySql(q)}, 32)::float8`
          : matcher === 'trigram'
            ? sql`word_similarity(${q}, p.name)::float8`
            : sql`0.0::float8`
      return { expr: relevanceSql(text, score), cast: 'float8', dir: 'desc' }
    }
  }
}

type Row = Record<string, unknown> & { k: string; total?: number | string }

/** The listing filters (category with descendants, price range, stock) over products aliased `p`. */
export function filterSql(input: Pick<ListInput, 'categoryId' | 'minPriceCents' | 'maxPriceCents' | 'inStock'>): SQL[] {
  const where: SQL[] = []
  if (input.categoryId) {
    where.push(sql`p.category_id in (
      with recursive sub(id) as (select ${input.categoryId}::uuid union all select c.id from categories c join sub on c.parent_id = sub.id)
      select id from sub)`)
  }
  if (input.minPriceCents !== undefined) where.push(sql`p.price_cents >= ${input.minPriceCents}`)
  if (input.maxPriceCents !== undefined) where.push(sql`p.price_cents <= ${input.maxPriceCents}`)
  // Read-only look at the inventory table: a post-filter through the inventory service would break keyset pages.
  if (input.inStock === true) where.push(sql`exists (select 1 from inventory i where i.product_id = p.id and i.on_hand > i.reserved)`)
  if (input.inStock === false) where.push(sql`not exists (select 1 from inventory i where i.product_id = p.id and i.on_hand > i.reserved)`)
  return where
}

async function runQuery(
  input: ListInput,
  sort: Sort,
  matcher: Matcher,
  ctx: RankContext,
  after: [string, string] | null,
  withTotal: boolean,
) {
  const q = input.q?.trim() ?? ''
  const where: SQL[] = [sql`p.deleted_at is null`]
  if (matcher === 'fts') where.push(sql`p.search_vector @@ ${tsQuerySql(q)}`)
  if (matcher === 'trigram') where.push(sql`${q} <% p.name`)
  where.push(...filterSql(input))

  const spec = sortSpec(sort, matcher, q, ctx)
  const cast = sql.raw(spec.cast)
  if (after) {
    const op = sql.raw(spec.dir === 'asc' ? '>' : '<')
    where.push(sql`(${spec.expr}, p.id) ${op} (${after[0]}::${cast}, ${after[1]}::uuid)`)
  }
  const dir = sql.raw(spec.dir)
  const query = sql`
    select p.id, (${spec.expr})::text as k ${withTotal ? sql`, count(*) over () as total` : sql``}
    from products p
    where ${sql.join(where, sql` and `)}
    order by ${spec.expr} ${dir}, p.id ${dir}
    limit ${input.limit + 1}`
  const run = async (tx: Pick<typeof db, 'execute'>) => (await tx.execute<Row>(query)) as unknown as Row[]
  if (matcher !== 'trigram') return run(db)
  return db.transaction(async (tx) => {
    await tx.execute(sql`select set_config('pg_trgm.word_similarity_threshold', ${String(TRIGRAM_THRESHOLD)}, true)`)
    return run(tx)
  })
}

const KEY_SHAPE: Record<Sort, (k: string) => boolean> = {
  price_asc: isPgInt4,
  price_desc: isPgInt4,
  newest: isPgTimestamp,
  rank: isPgFloat,
  relevance: isPgFloat,
}

/** A cursor is client input: every part is checked before it reaches SQL (bad → 422, never 500). */
function validCursor(c: CursorKey, sort: Sort): boolean {
  const [k, id, s, matcher, now, max] = c
  return (
    s === sort &&
    typeof k === 'string' &&
    KEY_SHAPE[sort](k) &&
    isUuid(id) &&
    ['none', 'fts', 'trigram'].includes(matcher) &&
    isIsoInstant(now) &&
    Number.isInteger(max) &&
    max >= 0 &&
    max <= INT4_MAX
  )
}

type CursorKey = [k: string, id: string, sort: Sort, matcher: Matcher, now: string, maxPurchases: number]

/** Runs the query for one page: ids in order, the next cursor, and (first page of a search) the total. */
async function computePage(input: ListInput, q: string, sort: Sort, raw: CursorKey | undefined): Promise<CachedPage> {
  const ctx: RankContext = raw
    ? { now: new Date(raw[4]), maxPurchases: Number(raw[5]) }
    : { now: new Date(), maxPurchases: sort === 'rank' || sort === 'relevance' ? await maxPurchases() : 0 }
  let matcher: Matcher = raw ? raw[3] : q ? 'fts' : 'none'
  const after: [string, string] | null = raw ? [raw[0], raw[1]] : null
  const first = !raw
  let rows = await runQuery(input, sort, matcher, ctx, after, first && !!q)
  if (first && q && rows.length === 0) {
    matcher = 'trigram'
    rows = await runQuery(input, sort, matcher, ctx, after, true)
  }
  const page = toPage(rows, input.limit, (r): CursorKey => [r.k, r.id as string, sort, matcher, ctx.now.toISOString(), ctx.maxPurchases])
  return { ids: page.items.map((r) => r.id as string), nextCursor: page.nextCursor, total: Number(rows[0]?.total ?? 0), matcher }
}

/** What GET /products answers: the body, and for a search the mode that served it (x-search-mode). */
export type ListResponse = { body: string; searchMode?: string }

/**
 * Searches (`q`) go to the handler the search module registers (hybrid retrieval, ranking,
 * analytics); the catalog cannot import search (search reads the catalog), so it is a callback.
 */
export type SearchHandler = (input: ListInput) => Promise<ListResponse>
let searchHandler: SearchHandler | null = null
export function setSearchHandler(h: SearchHandler | null): void {
  searchHandler = h
}

export async function listProductsResponse(input: ListInput): Promise<ListResponse> {
  if (input.q?.trim() && searchHandler) return searchHandler(input)
  return { body: await listProductsJson(input) }
}

export type KeywordPage = CachedPage & { sort: Sort }

/**
 * The keyword page (ids + cursor + total, cached per query under the listing generation) without
 * recording it: the search module records searches itself, with the mode that served them.
 */
export async function keywordPage(input: ListInput): Promise<KeywordPage> {
  const q = input.q?.trim() ?? ''
  if (input.minPriceCents !== undefined && input.maxPriceCents !== undefined && input.minPriceCents > input.maxPriceCents) {
    throw ValidationProblem.field('query.minPriceCents', 'must not exceed maxPriceCents')
  }
  const sort: Sort = input.sort ?? (q ? 'relevance' : 'rank')
  const raw = decodeCursor(input.cursor, 6) as CursorKey | undefined
  if (raw && !validCursor(raw, sort)) throw ValidationProblem.field('query.cursor', 'is not a cursor of this query')
  const norm = [q.toLowerCase(), input.categoryId, input.minPriceCents, input.maxPriceCents, input.inStock, sort, input.limit, input.cursor]
  const hash = new Bun.CryptoHasher('sha1').update(JSON.stringify(norm)).digest('base64url')
  const gen = await listingGeneration()
  const compute = () => computePage(input, q, sort, raw)
  const page = gen === null ? await compute() : ((await pageCache.get(key('search', gen, hash), compute)) as CachedPage)
  return { ...page, sort }
}

/**
 * One page as the JSON the API returns. The page (ids + cursor) is cached per query under the
 * listing generation; product bodies come from the product cache, so a price or stock change shows
 * in lists as soon as it shows on the product page.
 */
export async function listProductsJson(input: ListInput): Promise<string> {
  const q = input.q?.trim() ?? ''
  const page = await keywordPage(input)
  if (!input.cursor && q) recordSearch({ query: q, resultCount: page.total, matcher: page.matcher, userId: input.userId ?? null })
  const bodies = await getProductBodies(page.ids)
  return `{"items":[${bodies.map((b) => b.json).join(',')}],"nextCursor":${JSON.stringify(page.nextCursor)}}`
}

export async function listProducts(input: ListInput): Promise<Page<Product>> {
  return JSON.parse(await listProductsJson(input)) as Page<Product>
}

// Search analytics, off the response path and batched: one insert per flush, not per search.
export type SearchRecord = {
  query: string
  resultCount: number
  matcher: string
  userId: string | null
  /** the search's id (returned to clients as searchId); generated when absent */
  id?: string
  mode?: string
  requestedMode?: string
  latencyMs?: number
  degraded?: string[]
}
type SearchLog = Required<Omit<SearchRecord, 'mode' | 'requestedMode' | 'latencyMs'>> & {
  mode: string | null
  requestedMode: string | null
  latencyMs: number | null
  at: string
}
let buffer: SearchLog[] = []
let flushTimer: ReturnType<typeof setTimeout> | null = null
export const SEARCH_LOG_FLUSH_MS = 200

/** Buffers one search row; returns its id. */
export function recordSearch(r: SearchRecord): string {
  const id = r.id ?? Bun.randomUUIDv7()
  buffer.push({
    id,
    query: r.query,
    resultCount: r.resultCount,
    matcher: r.matcher,
    userId: r.userId,
    mode: r.mode ?? null,
    requestedMode: r.requestedMode ?? null,
    latencyMs: r.latencyMs ?? null,
    degraded: r.degraded ?? [],
    at: new Date().toISOString(),
  })
  if (buffer.length >= 500) void flushSearchLog()
  else flushTimer ??= setTimeout(() => void flushSearchLog(), SEARCH_LOG_FLUSH_MS)
  return id
}

/** True while a search row is still in this process's buffer (not yet in Postgres). */
export function searchBuffered(id: string): boolean {
  return buffer.some((r) => r.id === id)
}

/** Writes buffered search rows (a lost batch costs data points, never a request). */
export async function flushSearchLog(): Promise<void> {
  if (flushTimer) clearTimeout(flushTimer)
  flushTimer = null
  const rows = buffer
  buffer = []
  if (rows.length === 0) return
  await db
    .execute(sql`insert into search_queries (id, query, result_count, matcher, user_id, mode, requested_mode, latency_ms, degraded, created_at)
      select id, query, "resultCount", matcher, "userId", mode, "requestedMode", "latencyMs", array(select json_array_elements_text(degraded)), at
      from json_to_recordset(${JSON.stringify(rows)}::json)
        as x(id uuid, query text, "resultCount" int, matcher text, "userId" uuid, mode text, "requestedMode" text, "latencyMs" float8, degraded json, at timestamptz)`)
    .catch((err: Error) => logger.warn({ err: err.message, lost: rows.length }, 'search analytics insert failed'))
}

export const FEATURED_SIZE = 12

/** Top products by rank score, cached as one entry. */
export async function getFeaturedBody(): Promise<CachedBody> {
  const body = await featuredCache.get(FEATURED_KEY(), async () => {
    const page = await listProducts({ sort: 'rank', limit: FEATURED_SIZE })
    return cachedBody({ items: page.items })
  })
  return body ?? cachedBody({ items: [] })
}
