// Payments routes: the gateway's signed webhook. (Paying is POST /orders/:id/pay in the orders module.)
import { Elysia, t } from 'elysia'
import { problems } from '../../lib/problem-schema'
import { WebhookAck } from './model'
import { handleWebhook, SIGNATURE_HEADER } from './webhook'

export const paymentsModule = new Elysia({ name: 'payments', tags: ['orders'] }).post(
  '/payments/webhook',
  // The signature covers the raw bytes, so the body is read as text and parsed after verifying.
  ({ body, request }) => handleWebhook(body, request.headers.get(SIGNATURE_HEADER)),
  {
    parse: 'text',
    body: t.String({ maxLength: 65536 }),
    detail: {
      summary: 'Payment gateway webhook (HMAC-signed, deduplicated by event id)',
      description:
        '`Stampede-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. Events: `charge.succeeded` { paymentId, chargeId }, `charge.failed` { paymentId, reason }. Bad or stale signature → 401; a repeated event id → 200 with `duplicate: true` and no effect.',
      tags: ['orders'],
    },
    response: { 200: WebhookAck, ...problems(400, 401, 422) },
  },
)
