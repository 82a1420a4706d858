// Request and response schemas of the planning routes (suppliers, offers, purchase orders,
// forecasts, reorder suggestions). Bodies are closed objects: an unknown field —
// `reliability` on a supplier included — is a 422 naming it.
import { t } from 'elysia'

const Uuid = (description: string) => t.String({ format: 'uuid', description })
const Days = (description: string) => t.Integer({ minimum: 0, maximum: 365, description })
const Qty = (description: string) => t.Integer({ minimum: 1, maximum: 10_000_000, description })
const Cents = (description: string) => t.Integer({ minimum: 1, maximum: 1_000_000_000_000, description })
const DateTime = t.String({ format: 'date-time' })

export const IdParams = t.Object({ id: Uuid('id') })
export const ProductParams = t.Object({ productId: Uuid('product id') })
export const PageQuery = {
  limit: t.Optional(t.Integer({ minimum: 1, maximum: 100, description: 'page size (default 50)' })),
  cursor: t.Optional(t.String({ maxLength: 200 })),
}

export const SupplierBody = t.Object(
  {
    name: t.String({ minLength: 1, maxLength: 200 }),
    contactEmail: t.String({ format: 'email', maxLength: 320 }),
    leadTimeDays: Days('days from sending an order to its delivery'),
  },
  { additionalProperties: false, description: '`reliability` is computed from purchase-order history, never sent' },
)
export const SupplierPatch = t.Partial(SupplierBody, { additionalProperties: false, minProperties: 1 })

export const Supplier = t.Object({
  id: t.String(),
  name: t.String(),
  contactEmail: t.String(),
  leadTimeDays: t.Integer(),
  reliability: t.Nullable(t.Number({ description: '(on-time rate + fill rate) / 2 over evaluated purchase orders; null = no history' })),
  onTimeRate: t.Nullable(t.Number({ description: 'share of evaluated orders fully received by their expected day' })),
  fillRate: t.Nullable(t.Number({ description: 'units received ÷ units ordered over finished orders' })),
  purchaseOrdersEvaluated: t.Integer(),
  createdAt: DateTime,
  updatedAt: DateTime,
})
export const SupplierPage = t.Object({ items: t.Array(Supplier), nextCursor: t.Nullable(t.String()) })

export const OfferBody = t.Object(
  {
    productId: Uuid('product id'),
    unitCostCents: Cents('cost of one unit in cents'),
    minOrderQuantity: Qty('minimum order quantity (MOQ)'),
    packSize: Qty('units per pack: orders are rounded up to whole packs'),
    leadTimeDays: t.Optional(Days("this offer's lead time; default the supplier's")),
  },
  { additionalProperties: false },
)
export const Offer = t.Object({
  id: t.String(),
  supplierId: t.String(),
  productId: t.String(),
  unitCostCents: t.Integer(),
  minOrderQuantity: t.Integer(),
  packSize: t.Integer(),
  leadTimeDays: t.Nullable(t.Integer()),
  createdAt: DateTime,
})
export const OfferList = t.Object({ items: t.Array(Offer) })

export const PoStatus = t.UnionEnum(['draft', 'sent', 'partially_received', 'received', 'closed', 'cancelled'])
export const CreatePoBody = t.Object(
  {
    supplierId: Uuid('supplier id'),
    lines: t.Array(
      t.Object(
        {
          productId: Uuid('product id'),
          quantity: Qty('units ordered'),
          unitCostCents: t.Optional(Cents("default: the supplier's offer for the product")),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 200 },
    ),
    expectedAt: t.Optional(t.String({ format: 'date-time', description: 'expected delivery; default: sent + the lead time' })),
  },
  { additionalProperties: false },
)
export const ReceiveBody = t.Object(
  {
    lines: t.Array(t.Object({ productId: Uuid('product id'), quantity: Qty('units received now') }, { additionalProperties: false }), {
      minItems: 1,
      maxItems: 200,
    }),
  },
  { additionalProperties: false },
)
// Query enums are unions of literals: Elysia 1.4 fills an absent optional t.UnionEnum query field
// with its first member (an unfiltered list came back as drafts only).
const PoStatusFilter = t.Union([
  t.Literal('draft'),
  t.Literal('sent'),
  t.Literal('partially_received'),
  t.Literal('received'),
  t.Literal('closed'),
  t.Literal('cancelled'),
])
export const PoListQuery = t.Object({ status: t.Optional(PoStatusFilter), supplierId: t.Optional(Uuid('supplier id')), ...PageQuery })

export const PurchaseOrder = t.Object({
  id: t.String(),
  supplierId: t.String(),
  status: PoStatus,
  expectedAt: t.Nullable(DateTime),
  sentAt: t.Nullable(DateTime),
  receivedAt: t.Nullable(DateTime),
  closedAt: t.Nullable(DateTime),
  cancelledAt: t.Nullable(DateTime),
  createdAt: DateTime,
  updatedAt: DateTime,
  totalCents: t.Integer(),
  lines: t.Array(t.Object({ productId: t.String(), quantity: t.Integer(), received: t.Integer(), unitCostCents: t.Integer() })),
})
export const PurchaseOrderPage = t.Object({ items: t.Array(PurchaseOrder), nextCursor: t.Nullable(t.String()) })

const Num = t.Number()
export const Forecast = t.Object({
  productId: t.String(),
  method: t.UnionEnum(['holt-winters', 'croston-sba', 'seasonal-naive']),
  accuracy: t.Object({
    mase: t.Nullable(t.Number({ description: 'last 28 days held out; < 1 beats the seasonal naive forecast' })),
    coverage80: t.Nullable(Num),
    coverage95: t.Nullable(Num),
    holdoutDays: t.Integer(),
  }),
  history: t.Array(
    t.Object({
      date: t.String({ format: 'date' }),
      value: t.Nullable(t.Integer({ description: 'units demanded; null = stock-out day (demand unknown, not zero)' })),
      stockout: t.Boolean(),
    }),
  ),
  forecast: t.Array(t.Object({ date: t.String({ format: 'date' }), value: Num, lower80: Num, upper80: Num, lower95: Num, upper95: Num }), {
    description: 'the next 28 days',
  }),
  computedAt: DateTime,
})

export const SuggestionStatus = t.UnionEnum(['open', 'accepted', 'dismissed'])
export const Suggestion = t.Object({
  id: t.String(),
  productId: t.String(),
  supplierId: t.String(),
  quantity: t.Integer(),
  projectedStockoutDate: t.Nullable(t.String({ format: 'date' })),
  reason: t.String(),
  status: SuggestionStatus,
  purchaseOrderId: t.Nullable(t.String()),
  createdAt: DateTime,
  updatedAt: DateTime,
})
export const SuggestionList = t.Object({ items: t.Array(Suggestion) })
export const SuggestionQuery = t.Object({
  status: t.Optional(t.Union([t.Literal('open'), t.Literal('accepted'), t.Literal('dismissed'), t.Literal('all')])),
})
