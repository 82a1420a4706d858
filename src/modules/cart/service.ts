// Cart: a Redis hash key('cart', userId) of productId → quantity with a sliding expiry
// (CART_TTL_SECONDS, renewed on every read and write). Redis is the cart's only store, so when it
// is down the cart answers 503 dependency_unavailable (checkout with explicit `items` still works).
import type Redis from 'ioredis'
import { config } from '../../config'
import { db } from '../../infra/db'
import { key, withRedis } from '../../infra/redis'
import { NotFoundError, UnavailableError, ValidationProblem } from '../../lib/errors'
import { getProductsForOrder } from '../catalog/service'
import type { StockLine } from '../inventory/model'
import { availableByProductIds } from '../inventory/service'
import { type CartView, MAX_CART_LINES } from './model'

const cartKey = (userId: string) => key('cart', userId)

/** The cart lives only in Redis: without it there is no cart to serve (503), not a fallback. */
function withCartRedis<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
  return withRedis(fn, () => {
    throw new UnavailableError('The cart store (Redis) is unavailable; retry shortly')
  })
}

/** The raw lines (productId → quantity), renewing the sliding expiry. */
export async function cartLines(userId: string): Promise<StockLine[]> {
  const k = cartKey(userId)
  const res = await withCartRedis((r) => r.multi().hgetall(k).expire(k, config.CART_TTL_SECONDS).exec())
  const hash = (res?.[0]?.[1] ?? {}) as Record<string, string>
  return Object.entries(hash)
    .map(([productId, q]) => ({ productId, quantity: Number(q) }))
    .filter((l) => Number.isInteger(l.quantity) && l.quantity > 0)
}

export async function getCart(userId: string): Promise<CartView> {
  const lines = await cartLines(userId)
  const ids = lines.map((l) => l.productId)
  const [products, available] = await Promise.all([getProductsForOrder(db, ids), availableByProductIds(db, ids)])
  // Products deleted since they were added drop out of the cart.
  const gone = ids.filter((id) => !products.has(id))
  if (gone.length) await withCartRedis((r) => r.hdel(cartKey(userId), ...gone))
  const items = lines
    .filter((l) => products.has(l.productId))
    .sort((a, b) => (a.productId < b.productId ? -1 : 1))
    .map((l) => {
      const p = products.get(l.productId)!
      const avail = Math.max(0, available.get(l.productId) ?? 0)
      return {
        productId: l.productId,
        name: p.name,
        quantity: l.quantity,
        unitPriceCents: p.priceCents,
        currency: p.currency,
        lineTotalCents: p.priceCents * l.quantity,
        available: avail,
        inStock: avail >= l.quantity,
      }
    })
  return {
    items,
    totalCents: items.reduce((s, i) => s + i.lineTotalCents, 0),
    currency: items[0]?.currency ?? null,
  }
}

/** Sets a line's quantity (0 removes it). Unknown product → 404; a 51st line or a second currency → 422. */
export async function setCartItem(userId: string, productId: string, quantity: number): Promise<CartView> {
  const k = cartKey(userId)
  if (quantity === 0) {
    await withCartRedis((r) => r.multi().hdel(k, productId).expire(k, config.CART_TTL_SECONDS).exec())
    return getCart(userId)
  }
  const product = (await getProductsForOrder(db, [productId])).get(productId)
  if (!product) throw new NotFoundError('Product', `Product ${productId} not found`)
  const lines = await cartLines(userId)
  const isNew = !lines.some((l) => l.productId === productId)
  if (isNew && lines.length >= MAX_CART_LINES) throw ValidationProblem.field('productId', `a cart holds at most ${MAX_CART_LINES} products`)
  const others = lines.filter((l) => l.productId !== productId).map((l) => l.productId)
  if (others.length) {
    const first = (await getProductsForOrder(db, others.slice(0, 1))).values().next().value
    if (first && first.currency !== product.currency) {
      throw ValidationProblem.field('productId', `the cart holds ${first.currency} products; ${product.currency} cannot be mixed in`)
    }
  }
  await withCartRedis((r) => r.multi().hset(k, productId, String(quantity)).expire(k, config.CART_TTL_SECONDS).exec())
  return getCart(userId)
}

export async function removeCartItem(userId: string, productId: string): Promise<CartView> {
  return setCartItem(userId, productId, 0)
}

export async function clearCart(userId: string): Promise<void> {
  await withCartRedis((r) => r.unlink(cartKey(userId)))
}
