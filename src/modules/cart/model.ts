// Cart schemas. The cart is a Redis hash productId → quantity; prices and availability are live.
import { t } from 'elysia'
import { MAX_LINE_QUANTITY, MAX_ORDER_LINES } from '../inventory/model'

/** A cart is checked out as one order: the order bound (inventory's model) is the cart's. */
export const MAX_CART_LINES = MAX_ORDER_LINES
export const MAX_CART_QUANTITY = MAX_LINE_QUANTITY

export const CartLine = t.Object({
  productId: t.String(),
  name: t.String(),
  quantity: t.Integer(),
  unitPriceCents: t.Integer({ description: 'current price (the order snapshots it at checkout)' }),
  currency: t.String(),
  lineTotalCents: t.Integer(),
  available: t.Integer({ description: 'units available right now' }),
  inStock: t.Boolean({ description: 'available ≥ quantity' }),
})

export const CartView = t.Object({
  items: t.Array(CartLine),
  totalCents: t.Integer(),
  currency: t.Nullable(t.String()),
})
export type CartView = typeof CartView.static

export const ProductParams = t.Object({ productId: t.String({ format: 'uuid' }) })

export const SetQuantityBody = t.Object(
  { quantity: t.Integer({ minimum: 0, maximum: MAX_CART_QUANTITY, description: '0 removes the line' }) },
  { additionalProperties: false },
)
