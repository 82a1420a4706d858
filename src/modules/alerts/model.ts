// Low-stock alert schemas (admin API).
import { t } from 'elysia'
import { ValidationProblem } from '../../lib/errors'

export const AlertStatusFilter = t.Union([t.Literal('open'), t.Literal('resolved'), t.Literal('all')])

export const AlertListQuery = t.Object({
  status: t.Optional(AlertStatusFilter),
  productId: t.Optional(t.String({ format: 'uuid' })),
  // Range checked by pageLimit(): Elysia 1.4 reports min/max failures of coerced query numbers
  // without the field name, and every 422 here must name its field.
  limit: t.Optional(t.Integer({ description: 'page size, 1–100 (default 20)' })),
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

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return 20
  if (limit < 1 || limit > 100) throw ValidationProblem.field('query.limit', 'must be an integer from 1 to 100')
  return limit
}

export const GeneralAlertListQuery = t.Object({
  type: t.Optional(t.String({ maxLength: 64, pattern: '^[a-z_]+$', description: 'e.g. risk_review' })),
  status: t.Optional(AlertStatusFilter),
  limit: t.Optional(t.Integer({ description: 'page size, 1–100 (default 20)' })),
  cursor: t.Optional(t.String({ maxLength: 200 })),
})

export const GeneralAlert = t.Object({
  id: t.String(),
  type: t.String(),
  severity: t.Union([t.Literal('info'), t.Literal('warning'), t.Literal('critical')]),
  subjectId: t.String(),
  message: t.String(),
  details: t.Record(t.String(), t.Unknown()),
  status: t.Union([t.Literal('open'), t.Literal('resolved')]),
  createdAt: t.String({ format: 'date-time' }),
  resolvedAt: t.Nullable(t.String({ format: 'date-time' })),
})

export const GeneralAlertPage = t.Object({ items: t.Array(GeneralAlert), nextCursor: t.Nullable(t.String()) })
