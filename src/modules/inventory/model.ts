// Request and response schemas of the inventory routes (single source of truth for types + docs).
import { t } from 'elysia'
import { MAX_RESTOCK_QUANTITY } from './guard'

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
