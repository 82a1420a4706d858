// Gateway webhooks: `Stampede-Signature: t=<unix seconds>,v1=<hex>` where v1 =
// HMAC-SHA256(PAYMENT_WEBHOOK_SECRET, "<t>.<raw body>") (Stripe's scheme). Several v1 values are
// accepted (secret rotation); comparison is timing-safe; timestamps outside the tolerance window
// are rejected (replay protection). Events are applied once: the event id is inserted into
// payment_webhook_events in the same transaction as the effect.
import { createHmac, timingSafeEqual } from 'node:crypto'
import { Type as T } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { paymentWebhookEvents } from '../../../db/schema'
import { config } from '../../config'
import { db, type Tx } from '../../infra/db'
import { BadRequestError, UnauthorizedError, ValidationProblem } from '../../lib/errors'
import { isUuid } from '../../lib/uuid'

export const SIGNATURE_HEADER = 'stampede-signature'

export function signWebhook(rawBody: string, secret = config.PAYMENT_WEBHOOK_SECRET, timestamp = Math.floor(Date.now() / 1000)): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')
  return `t=${timestamp},v1=${v1}`
}

export function verifySignature(rawBody: string, header: string | null, secret = config.PAYMENT_WEBHOOK_SECRET, now = Date.now()): void {
  if (!header) throw new UnauthorizedError(`Missing ${SIGNATURE_HEADER} header`, 'invalid_signature')
  const parts = header.split(',').map((p) => p.trim().split('='))
  const t = Number(parts.find(([k]) => k === 't')?.[1])
  const sigs = parts.filter(([k, v]) => k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)).map(([, v]) => Buffer.from(v!, 'hex'))
  if (!Number.isInteger(t) || sigs.length === 0) throw new UnauthorizedError('Malformed webhook signature', 'invalid_signature')
  if (Math.abs(now / 1000 - t) > config.PAYMENT_WEBHOOK_TOLERANCE_SECONDS) {
    throw new UnauthorizedError('Webhook signature timestamp is outside the tolerance window', 'invalid_signature')
  }
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest()
  if (!sigs.some((s) => s.length === expected.length && timingSafeEqual(s, expected))) {
    throw new UnauthorizedError('Webhook signature does not match', 'invalid_signature')
  }
}

export const WebhookEvent = T.Object({
  id: T.String({ minLength: 1, maxLength: 200 }),
  type: T.String({ minLength: 1, maxLength: 100 }),
  data: T.Object({
    paymentId: T.String({ format: 'uuid' }),
    chargeId: T.Optional(T.String({ maxLength: 200 })),
    reason: T.Optional(T.String({ maxLength: 500 })),
  }),
})

/** Verifies, parses and applies one webhook delivery; `duplicate` when the event id was seen. */
export async function handleWebhook(rawBody: string, signature: string | null): Promise<{ received: true; duplicate: boolean }> {
  verifySignature(rawBody, signature)
  let event: unknown
  try {
    event = JSON.parse(rawBody)
  } catch {
    throw new BadRequestError('Webhook body is not JSON', 'malformed_body')
  }
  if (!Value.Check(WebhookEvent, event) || !isUuid((event as { data: { paymentId: string } }).data.paymentId)) {
    const errors = [...Value.Errors(WebhookEvent, event)].map((e) => ({
      field: e.path.replace(/^\//, '').replaceAll('/', '.') || 'body',
      message: e.message,
    }))
    throw new ValidationProblem(errors.length ? errors : [{ field: 'data.paymentId', message: 'must be a UUID' }])
  }
  const e = event as typeof WebhookEvent.static
  let after: (() => Promise<void>) | null = null
  const duplicate = await db.transaction(async (tx) => {
    const inserted = await tx
      .insert(paymentWebhookEvents)
      .values({ eventId: e.id, type: e.type, payload: e as unknown as Record<string, unknown> })
      .onConflictDoNothing()
      .returning({ id: paymentWebhookEvents.eventId })
    if (inserted.length === 0) return true
    const actor = `gateway:${e.id}`
    if (e.type === 'charge.succeeded') {
      if (!e.data.chargeId) throw ValidationProblem.field('data.chargeId', 'is required for charge.succeeded')
      after = await settle(tx, { type: e.type, paymentId: e.data.paymentId, chargeId: e.data.chargeId, actor })
    } else if (e.type === 'charge.failed') {
      after = await settle(tx, { type: e.type, paymentId: e.data.paymentId, reason: e.data.reason ?? 'declined (webhook)', actor })
    }
    // Other event types are recorded (and so acknowledged once) but change nothing.
    return false
  })
  if (after) await (after as () => Promise<void>)()
  return { received: true, duplicate }
}

/** A verified, first-seen charge outcome, for the module that owns what it means (orders). */
export type ChargeOutcome =
  | { type: 'charge.succeeded'; paymentId: string; chargeId: string; actor: string }
  | { type: 'charge.failed'; paymentId: string; reason: string; actor: string }
/** Applies an outcome in the webhook's transaction; returns the work to run after the commit. */
type ChargeOutcomeHandler = (tx: Tx, outcome: ChargeOutcome) => Promise<() => Promise<void>>

let handler: ChargeOutcomeHandler | null = null

/**
 * Payments is a leaf: it tells, it does not call. Orders registers the settlement here when it
 * loads (orders/settlement.ts); a webhook arriving without one fails (500) and the gateway retries.
 */
export function onChargeOutcome(h: ChargeOutcomeHandler): void {
  handler = h
}

function settle(tx: Tx, outcome: ChargeOutcome): Promise<() => Promise<void>> {
  if (!handler) throw new Error('no charge outcome handler registered (the orders module is not loaded)')
  return handler(tx, outcome)
}
