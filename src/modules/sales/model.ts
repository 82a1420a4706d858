// Request and response schemas of flash sales (issue 21).
import { t } from 'elysia'

const Uuid = t.String({ format: 'uuid', description: 'UUID' })
const Iso = t.String({ format: 'date-time' })

export const SALE_STATUSES = ['scheduled', 'live', 'sold_out', 'ended', 'cancelled'] as const
export type SaleStatus = (typeof SALE_STATUSES)[number]

/** A sale sells at most this many units in one order (orders cap a line at 100 units as well). */
export const MAX_SALE_ORDER_QUANTITY = 100

export const SaleParams = t.Object({ id: Uuid })

export const CreateSaleBody = t.Object(
  {
    productId: Uuid,
    salePriceCents: t.Integer({ minimum: 0, maximum: 2_000_000_000, description: 'unit price during the sale, in cents' }),
    units: t.Integer({ minimum: 1, maximum: 1_000_000, description: "units moved from the product's stock into the sale's pool" }),
    startsAt: Iso,
    endsAt: Iso,
    perCustomerLimit: t.Integer({ minimum: 1, maximum: MAX_SALE_ORDER_QUANTITY, description: 'units one customer may hold or buy' }),
  },
  { additionalProperties: false },
)
export type CreateSaleBody = typeof CreateSaleBody.static

export const PatchSaleBody = t.Object(
  {
    startsAt: t.Optional(Iso),
    endsAt: t.Optional(Iso),
    units: t.Optional(t.Integer({ minimum: 1, maximum: 1_000_000, description: 'the new total: units can only be raised' })),
  },
  { additionalProperties: false, minProperties: 1, description: 'reschedule (before the start) and/or raise the units' },
)
export type PatchSaleBody = typeof PatchSaleBody.static

export const SaleOrderBody = t.Object(
  { quantity: t.Integer({ minimum: 1, maximum: MAX_SALE_ORDER_QUANTITY }) },
  { additionalProperties: false },
)

export const SaleProduct = t.Object({ id: t.String(), name: t.String(), priceCents: t.Integer(), currency: t.String() })

export const SaleView = t.Object({
  id: t.String(),
  product: SaleProduct,
  salePriceCents: t.Integer(),
  startsAt: Iso,
  endsAt: Iso,
  serverTime: t.String({ format: 'date-time', description: "the server's clock when it answered (count down to startsAt with it)" }),
  status: t.UnionEnum(SALE_STATUSES),
  remaining: t.Integer({ description: 'units still free in the pool (expired orders give theirs back)' }),
})
export type SaleView = typeof SaleView.static

export const AdminSaleView = t.Object({
  ...SaleView.properties,
  perCustomerLimit: t.Integer(),
  units: t.Integer(),
  held: t.Integer({ description: 'units of unpaid sale orders' }),
  sold: t.Integer({ description: 'units of paid sale orders' }),
  returned: t.Integer({ description: "units given back to the product's stock" }),
  createdAt: Iso,
})
export type AdminSaleView = typeof AdminSaleView.static

export const SaleList = t.Object({ items: t.Array(SaleView) })
export const AdminSaleList = t.Object({ items: t.Array(AdminSaleView) })
