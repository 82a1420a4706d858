// Analytics API schemas (admin). Money in integer cents; instants as ISO 8601 UTC strings.
import { t } from 'elysia'
import { ValidationProblem } from '../../lib/errors'

const WindowParam = t.Optional(
  t.UnionEnum(['24h', '7d', '30d'], { description: 'window (default 24h); 7d/30d are whole local days in tz' }),
)
const Tz = t.Optional(t.String({ maxLength: 64, description: 'IANA time zone (default UTC)' }))
// Ranges checked in limitOf(): Elysia 1.4 reports min/max failures of coerced query numbers
// without the field name, and every 422 here must name its field.
const Limit = (def: number) => t.Optional(t.Integer({ description: `1–100 (default ${def})` }))
const Instant = t.String({ format: 'date-time' })

export function limitOf(limit: number | undefined, def: number): number {
  if (limit === undefined) return def
  if (limit < 1 || limit > 100) throw ValidationProblem.field('query.limit', 'must be an integer from 1 to 100')
  return limit
}

export const OverviewQuery = t.Object({ window: WindowParam, tz: Tz })
const FiguresFields = {
  revenueCents: t.Integer({ description: 'gross sales of paid orders placed in the window' }),
  orders: t.Integer({ description: 'paid orders placed in the window' }),
  unitsSold: t.Integer(),
  averageOrderCents: t.Integer(),
  activeCustomers: t.Integer({ description: 'customers with a paid order in the window' }),
  newCustomers: t.Integer({ description: 'active customers whose first paid order is in the window' }),
  returningCustomers: t.Integer(),
  refundsCents: t.Integer({ description: 'of orders placed in the window, those refunded since' }),
  cancellations: t.Integer({ description: 'orders placed in the window and cancelled' }),
  from: Instant,
  to: Instant,
}
export const Overview = t.Object({
  window: t.UnionEnum(['24h', '7d', '30d']),
  ...FiguresFields,
  previous: t.Object(FiguresFields, { description: 'the same figures for the window just before' }),
})

const DateOrInstant = t.Optional(t.String({ maxLength: 40, description: 'YYYY-MM-DD (local midnight in tz) or ISO 8601 date-time' }))
export const SalesQuery = t.Object({
  granularity: t.Optional(t.UnionEnum(['hour', 'day'], { description: 'bucket size (default hour)' })),
  from: DateOrInstant,
  to: DateOrInstant,
  tz: Tz,
})
export const SalesSeries = t.Object({
  granularity: t.UnionEnum(['hour', 'day']),
  tz: t.String(),
  from: Instant,
  to: Instant,
  items: t.Array(t.Object({ start: Instant, revenueCents: t.Integer(), orders: t.Integer(), units: t.Integer() }), {
    description: 'one per bucket, zero-filled',
  }),
})

export const TopProductsQuery = t.Object({
  by: t.Optional(t.UnionEnum(['revenue', 'units'], { description: 'ranking (default revenue)' })),
  window: WindowParam,
  limit: Limit(10),
  tz: Tz,
})
export const TopProducts = t.Object({
  window: t.String(),
  by: t.String(),
  from: Instant,
  to: Instant,
  items: t.Array(t.Object({ productId: t.String(), name: t.String(), revenueCents: t.Integer(), units: t.Integer() })),
})

export const CategoriesQuery = t.Object({ window: WindowParam, tz: Tz })
export const CategorySales = t.Object({
  window: t.String(),
  from: Instant,
  to: Instant,
  items: t.Array(
    t.Object({
      categoryId: t.String(),
      name: t.String(),
      parentId: t.Nullable(t.String()),
      revenueCents: t.Integer({ description: "the category's own products" }),
      units: t.Integer(),
      subtreeRevenueCents: t.Integer({ description: 'the category and all its descendants' }),
      subtreeUnits: t.Integer(),
    }),
  ),
})

export const CustomersQuery = t.Object({ window: WindowParam, limit: Limit(10), tz: Tz })
export const PurchasePattern = t.Object({
  userId: t.String(),
  orders: t.Integer(),
  revenueCents: t.Integer(),
  averageOrderCents: t.Integer(),
  frequencyDays: t.Nullable(t.Number({ description: 'mean days between purchases in the window' })),
  firstPurchaseAt: Instant,
  lastPurchaseAt: Instant,
})
export const CustomerReport = t.Object({
  window: t.String(),
  from: Instant,
  to: Instant,
  customers: t.Integer({ description: 'customers with a paid order in the window' }),
  averageOrderCents: t.Integer(),
  ordersPerCustomer: t.Number(),
  topCustomers: t.Array(PurchasePattern, { description: 'by revenue' }),
  distribution: t.Array(
    t.Object({
      orders: t.String({ description: 'orders per customer: 1, 2, 3-5, 6-10, 11+' }),
      customers: t.Integer(),
      revenueCents: t.Integer(),
    }),
  ),
})

export const InventoryQuery = t.Object({ limit: Limit(100) })
export const InventoryReport = t.Object({
  lowStock: t.Array(
    t.Object({
      productId: t.String(),
      name: t.String(),
      available: t.Integer(),
      reorderPoint: t.Integer(),
      unitsPerDay: t.Number({ description: 'units sold per day, last 30 days' }),
      daysOfCover: t.Nullable(t.Number({ description: 'available ÷ units per day; null when nothing sold' })),
    }),
  ),
  products: t.Integer(),
  unitsOnHand: t.Integer(),
  stockValueAtPriceCents: t.Integer(),
  stockValueAtCostCents: t.Null({ description: 'cost prices are not modelled in this catalog' }),
})

export const ExportQuery = t.Object({
  from: DateOrInstant,
  to: DateOrInstant,
  tz: Tz,
})
