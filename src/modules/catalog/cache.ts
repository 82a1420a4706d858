// Product cache (cache-aside under `product:{id}`, see src/lib/cache-aside.ts). Entries hold the
// serialized JSON plus its ETag, so a hit is one Redis GET and no JSON round trip. Writers elsewhere
// (inventory, orders, reviews) call invalidateProduct after their change commits, before responding.
import { config } from '../../config'
import { key, withRedis } from '../../infra/redis'
import { CacheAside } from '../../lib/cache-aside'

export type CachedBody = { etag: string; json: string }

const bodyCodec = {
  encode: (v: CachedBody) => `${v.etag}\n${v.json}`,
  decode: (s: string): CachedBody => {
    const i = s.indexOf('\n')
    return { etag: s.slice(0, i), json: s.slice(i + 1) }
  },
}

export function cachedBody(value: unknown): CachedBody {
  const json = JSON.stringify(value)
  return { etag: `W/"${Bun.hash(json).toString(36)}"`, json }
}

/** The hottest read of the API: Redis plus an in-process L1 (invalidated on every instance, acknowledged). */
export const productCache = new CacheAside<CachedBody>({
  name: 'product',
  ttlSeconds: config.CACHE_TTL_SECONDS,
  negativeTtlSeconds: config.CACHE_NEGATIVE_TTL_SECONDS,
  codec: bodyCodec,
  near: { maxEntries: config.CACHE_LOCAL_MAX_ENTRIES, ttlMs: config.CACHE_LOCAL_TTL_SECONDS * 1000 },
})

/** Top products by rank: a shared list, so a short TTL instead of per-write invalidation. */
export const featuredCache = new CacheAside<CachedBody>({
  name: 'featured',
  ttlSeconds: Math.min(60, config.CACHE_TTL_SECONDS),
  negativeTtlSeconds: config.CACHE_NEGATIVE_TTL_SECONDS,
  codec: bodyCodec,
})

/** List and search pages: ids + cursor only (bodies come from productCache, so they are never stale). */
export type CachedPage = { ids: string[]; nextCursor: string | null; total: number; matcher: string }
export const pageCache = new CacheAside<CachedPage>({
  name: 'search',
  ttlSeconds: config.SEARCH_CACHE_TTL_SECONDS,
  negativeTtlSeconds: config.SEARCH_CACHE_TTL_SECONDS,
  // Page keys carry the listing generation, so a retired page is simply never asked for again; the
  // L1 only has to be short-lived (5 s) not to stretch the TTL-bounded lag of inStock and rank order.
  near: { maxEntries: 2000, ttlMs: 5000 },
})

const LISTING_GEN = () => key('search', 'gen')

/**
 * The current listing generation; part of every page key, so bumping it retires all cached pages.
 * Null when Redis cannot say: the caller then bypasses the page cache rather than guess a generation.
 */
export async function listingGeneration(): Promise<string | null> {
  return withRedis<string | null>(
    async (r) => (await r.get(LISTING_GEN())) ?? '0',
    () => null,
  )
}

/**
 * Catalog writes that change which products a list holds or their order (create, update, delete,
 * category moves) retire every cached page. Stock and review changes do not: they only change the
 * fields shown, which come from the product cache, so inStock filters and rank order may lag by up
 * to SEARCH_CACHE_TTL_SECONDS.
 */
export async function invalidateListings(): Promise<void> {
  await withRedis(
    (r) => r.incr(LISTING_GEN()),
    () => 0,
  )
}

export const productKey = (id: string): string => key('product', id)
export const FEATURED_KEY = (): string => key('products', 'featured')

export async function invalidateProduct(...productIds: string[]): Promise<void> {
  if (productIds.length === 0) return
  await productCache.invalidate(...productIds.map(productKey))
}
