// Request and response schemas of orders (the single source of truth for types). The line is
// inventory's one line model (one bound); views are derived from it, not restated.
import { t } from 'elysia'
import { ORDER_STATUSES, PAYMENT_METHODS } from '../../../db/schema'
import { MAX_ORDER_LINES, StockLineModel } from '../inventory/model'
import { PaymentView } from '../payments/model'

export { PaymentView } from '../payments/model'

const Uuid = t.String({ format: 'uuid', description: 'UUID' })
const Iso = t.String({ format: 'date-time' })

export const OrderLineInput = StockLineModel

export const CreateOrderBody = t.Object(
  {
    items: t.Optional(t.Array(OrderLineInput, { minItems: 1, maxItems: MAX_ORDER_LINES })),
    fromCart: t.Optional(t.Boolean({ description: 'order the current cart (and empty it on success)' })),
  },
  { additionalProperties: false, description: 'either `items` or `fromCart: true`' },
)
export type CreateOrderBody = typeof CreateOrderBody.static

export const OrderStatusSchema = t.UnionEnum(ORDER_STATUSES)

export const OrderItem = t.Composite([t.Pick(StockLineModel, ['productId', 'quantity']), t.Object({ unitPriceCents: t.Integer() })])
export type OrderItem = typeof OrderItem.static

export const OrderView = t.Object({
  id: t.String(),
  userId: t.String(),
  status: OrderStatusSchema,
  items: t.Array(OrderItem),
  totalCents: t.Integer(),
  currency: t.String(),
  reservationExpiresAt: Iso,
  createdAt: Iso,
  updatedAt: Iso,
  payment: t.Nullable(PaymentView, { description: 'latest payment attempt' }),
  // Admins only (a customer's view never has them): the fraud score and its review state.
  riskScore: t.Optional(t.Nullable(t.Number({ minimum: 0, maximum: 1, description: 'admins only; null when unscored' }))),
  riskStatus: t.Optional(
    t.UnionEnum(['none', 'pending', 'approved', 'rejected', 'unscored'] as const, {
      description: 'admins only. none: below the review threshold; pending/approved/rejected: risk review; unscored: no risk record',
    }),
  ),
})
export type OrderView = typeof OrderView.static

export const OrderPage = t.Object({ items: t.Array(OrderView), nextCursor: t.Nullable(t.String()) })

export const ListQuery = t.Object({
  limit: t.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: t.Optional(t.String({ maxLength: 200 })),
})

export const OrderIdParams = t.Object({ id: Uuid })

export const PayBody = t.Object(
  {
    // The methods the gateway knows: an unknown one is refused at once (422 naming the field),
    // not accepted and declined later by the charge job. `default: undefined` because Elysia's
    // UnionEnum defaults to its first value: a body without the field would pay with pm_card_ok.
    paymentMethod: t.UnionEnum(PAYMENT_METHODS, {
      default: undefined,
      description:
        'pm_card_ok succeeds; pm_card_declined is declined; pm_card_flaky fails transiently a few times, then succeeds; pm_card_timeout never answers. After a failure the order stays payable (another method) until its reservation expires.',
      examples: ['pm_card_ok'],
    }),
  },
  { additionalProperties: false },
)

export const AdminStatusBody = t.Object(
  // No default (see PayBody): a body without `status` must be a 422, not a step to `fulfilled`.
  { status: t.UnionEnum(['fulfilled', 'shipped', 'delivered'] as const, { description: 'fulfilment steps', default: undefined }) },
  { additionalProperties: false },
)
