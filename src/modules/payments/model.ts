// Payment schemas (the single source of truth for types): the payment view that orders embed, and
// the webhook's acknowledgement.
import { t } from 'elysia'
import { PAYMENT_STATUSES } from '../../../db/schema'

const Iso = t.String({ format: 'date-time' })

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

export const WebhookAck = t.Object({ received: t.Literal(true), duplicate: t.Boolean() })
