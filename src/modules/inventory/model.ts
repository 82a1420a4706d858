// Request and response schemas of the inventory routes (single source of truth for types + docs).
import { t } from 'elysia'

/**
 * THE order line bound: most units of one product per order (after merging duplicate lines) and
 * most distinct products per order. Orders' request schema, the cart and inventory's guard all
 * read these (a flash sale buys one or two units; abuse buys thousands).
 */
export const MAX_LINE_QUANTITY = 100
export const MAX_ORDER_LINES = 50
/** Largest single restock: big enough for a deep-stock sale, small enough to be sane. */
export const MAX_RESTOCK_QUANTITY = 10_000_000

/** THE line type: `{productId, quantity}` of an order, a cart checkout or a reservation. */
export const StockLineModel = t.Object(
  {
    productId: t.String({ format: 'uuid', description: 'UUID' }),
    quantity: t.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY }),
  },
  { additionalProperties: false },
)
export type StockLine = typeof StockLineModel.static

export const InventoryModel = {
  params: t.Object({ productId: t.String({ format: 'uuid', description: 'product id' }) }),
  inventory: t.Object({
    productId: t.String(),
    onHand: t.Integer(),
    reserved: t.Integer(),
    available: t.Integer({ description: 'onHand − reserved' }),
    version: t.Integer(),
    reorderPoint: t.Integer(),
  }),
  restock: t.Object({
    quantity: t.Integer({ minimum: 1, maximum: MAX_RESTOCK_QUANTITY, description: 'units received' }),
    reason: t.Optional(t.String({ minLength: 1, maxLength: 200 })),
  }),
  movementsQuery: t.Object({
    limit: t.Optional(t.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: t.Optional(t.String({ maxLength: 200 })),
  }),
  movements: t.Object({
    items: t.Array(
      t.Object({
        id: t.String(),
        kind: t.String({ description: 'restock | reserve | release | expire | commit | adjust' }),
        onHandDelta: t.Integer(),
        reservedDelta: t.Integer(),
        reservationId: t.Nullable(t.String()),
        orderId: t.Nullable(t.String()),
        reason: t.Nullable(t.String()),
        createdAt: t.String({ format: 'date-time' }),
      }),
    ),
    nextCursor: t.Nullable(t.String()),
  }),
}
