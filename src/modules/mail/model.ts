// Mail schemas: the order event payload the emails are rendered from (the contract with the
// orders module's outbox events) and the admin mail log listing.
import { t } from 'elysia'
import { ORDER_MAIL_KINDS } from '../../../db/schema'
import { ValidationProblem } from '../../lib/errors'

/**
 * Payload of `order.created` / `order.paid` outbox events. Extra fields are allowed; these are
 * what the email needs. Prices are the per-line snapshots the order was created with.
 */
export const OrderEventPayload = t.Object({
  orderId: t.Optional(t.String()),
  userId: t.String(),
  items: t.Array(t.Object({ productId: t.String(), quantity: t.Integer({ minimum: 1 }), unitPriceCents: t.Integer({ minimum: 0 }) }), {
    minItems: 1,
  }),
  totalCents: t.Integer({ minimum: 0 }),
  currency: t.String({ minLength: 3, maxLength: 3 }),
})
export type OrderEventPayload = typeof OrderEventPayload.static

// No default: Elysia gives a UnionEnum its first value as default, which would turn a missing
// `?kind=` filter into "only order_confirmation".
export const MailKind = t.UnionEnum([...ORDER_MAIL_KINDS, 'password_reset'] as const, { default: undefined })

export const MailEntry = t.Object({
  id: t.String(),
  orderId: t.Nullable(t.String({ description: 'null for account emails (password reset)' })),
  kind: MailKind,
  to: t.String(),
  subject: t.String(),
  text: t.String(),
  html: t.String(),
  status: t.Union([t.Literal('pending'), t.Literal('sending'), t.Literal('sent'), t.Literal('logged')]),
  transport: t.Union([t.Literal('smtp'), t.Literal('log')]),
  messageId: t.String(),
  attempts: t.Integer(),
  createdAt: t.String({ format: 'date-time' }),
  sentAt: t.Nullable(t.String({ format: 'date-time' })),
})

export const MailListQuery = t.Object({
  // Range checked by pageLimit(): Elysia 1.4 reports min/max failures of coerced query numbers
  // without the field name, and every 422 here must name its field.
  limit: t.Optional(t.Integer({ description: 'page size, 1–100 (default 20)' })),
  cursor: t.Optional(t.String({ maxLength: 200 })),
  orderId: t.Optional(t.String({ format: 'uuid' })),
  kind: t.Optional(MailKind),
})

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return 20
  if (limit < 1 || limit > 100) throw ValidationProblem.field('query.limit', 'must be an integer from 1 to 100')
  return limit
}
