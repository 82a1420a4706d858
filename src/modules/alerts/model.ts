// Low-stock alert schemas (admin API).
import { t } from 'elysia'

export const AlertStatusFilter = t.Union([t.Literal('open'), t.Literal('resolved'), t.Literal('all')])

export const AlertListQuery = t.Object({
  status: t.Optional(AlertStatusFilter),
  productId: t.Optional(t.String({ format: 'uuid' })),
  limit: t.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: t.Optional(t.String({ maxLength: 200 })),
})

export const StockAlert = t.Object({
  id: t.String(),
  productId: t.String(),
  status: t.Union([t.Literal('open'), t.Literal('resolved')]),
  availableAtOpen: t.Integer(),
  reorderPoint: t.Integer(),
  source: t.String({ description: '`stock.low` event or `daily-check`' }),
  openedAt: t.String({ format: 'date-time' }),
  resolvedAt: t.Nullable(t.String({ format: 'date-time' })),
  availableAtResolve: t.Nullable(t.Integer()),
})

export const StockAlertPage = t.Object({ items: t.Array(StockAlert), nextCursor: t.Nullable(t.String()) })
