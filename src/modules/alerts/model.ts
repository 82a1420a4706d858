// The admin alert list's schemas: low-stock alerts (this module's) and the alerts other modules
// raise (planning), one list with `kind` and `severity` on every item.
import { t } from 'elysia'
import { ValidationProblem } from '../../lib/errors'

export const AlertStatusFilter = t.Union([t.Literal('open'), t.Literal('resolved'), t.Literal('all')])

// Unions of literals, not t.UnionEnum: Elysia 1.4 fills an absent optional UnionEnum query field
// with its first member (measured: ?status=open arrived as kind=low_stock, severity=warning).
export const AlertKind = t.Union(
  [t.Literal('low_stock'), t.Literal('stockout_risk'), t.Literal('purchase_order_overdue'), t.Literal('supplier_reliability')],
  {
    description:
      '`low_stock`: available at or below the manual reorder point; `stockout_risk`: projected stock-out before a reorder could arrive; `purchase_order_overdue`; `supplier_reliability`: below 0.8 or falling',
  },
)
export const AlertSeverity = t.Union([t.Literal('warning'), t.Literal('critical')])

export const AlertListQuery = t.Object({
  status: t.Optional(AlertStatusFilter),
  kind: t.Optional(AlertKind),
  severity: t.Optional(AlertSeverity),
  productId: t.Optional(t.String({ format: 'uuid', description: 'the product of a low_stock or stockout_risk alert' })),
  // Range checked by pageLimit(): Elysia 1.4 reports min/max failures of coerced query numbers
  // without the field name, and every 422 here must name its field.
  limit: t.Optional(t.Integer({ description: 'page size, 1–100 (default 20)' })),
  cursor: t.Optional(t.String({ maxLength: 200 })),
})

export const StockAlert = t.Object({
  id: t.String(),
  kind: AlertKind,
  severity: t.Union([t.Literal('warning'), t.Literal('critical')], {
    description: 'low_stock: critical when nothing was left to sell at opening',
  }),
  subjectId: t.String({ description: 'the product, purchase order or supplier the alert is about, by kind' }),
  productId: t.Nullable(t.String({ description: 'null for purchase-order and supplier alerts' })),
  status: t.Union([t.Literal('open'), t.Literal('resolved')]),
  message: t.String(),
  availableAtOpen: t.Nullable(t.Integer({ description: 'low_stock only' })),
  reorderPoint: t.Nullable(t.Integer({ description: 'low_stock only' })),
  source: t.String({ description: '`stock.low` event or `daily-check` (low_stock); `planning` for the others' }),
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
