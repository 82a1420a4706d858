// Request and response schemas of orders and payments (the single source of truth for types).
import { t } from 'elysia'
import { ORDER_STATUSES, PAYMENT_METHODS, PAYMENT_STATUSES } from '../../../db/schema'

/** Caps that keep one order bounded (a flash sale buys one or two units; abuse buys thousands). */
export const MAX_ORDER_LINES = 50
export const MAX_LINE_QUANTITY = 100

const Uuid = t.String({ format: 'uuid', description: 'UUID' })
const Iso = t.String({ format: 'date-time' })

export const OrderLineInput = t.Object(
  {
    productId: Uuid,
    quantity: t.Integer({ minimum: 1, maximum: MAX_LINE_QUANTITY }),
  },
  { additionalProperties: false },
)

export const CreateOrderBody = t.Object(
  {
    items: t.Optional(t.Array(OrderLineInput, { minItems: 1, maxItems: MAX_ORDER_LINES })),
    fromCart: t.Optional(t.Boolean({ description: 'order the current cart (and empty it on success)' })),
  },
  { additionalProperties: false, description: 'either `items` or `fromCart: true`' },
)
export type CreateOrderBody = typeof CreateOrderBody.static

export const OrderStatusSchema = t.UnionEnum(ORDER_STATUSES)

export const OrderItem = t.Object({ productId: t.String(), quantity: t.Integer(), unitPriceCents: t.Integer() })
export type OrderItem = typeof OrderItem.static

export const PaymentView = t.Object({
  id: t.String(),
  orderId: t.String(),
  status: t.UnionEnum(PAYMENT_STATUSES),
  method: t.String(),
  attempts: t.Integer(),
  amountCents: t.Integer(),
  currency: t.String(),
  gatewayChargeId: t.Nullable(t.String()),
  lastError: t.Nullable(t.String()),
  createdAt: Iso,
  updatedAt: Iso,
})
export type PaymentView = typeof PaymentView.static

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

export const WebhookAck = t.Object({ received: t.Literal(true), duplicate: t.Boolean() })
