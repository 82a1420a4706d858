// A SIMULATED card gateway (seed 000 "PaymentService"): configurable latency
// (PAYMENT_GATEWAY_LATENCY_MS) and failure injection by test payment method. Like a real gateway
// it dedupes by the merchant's idempotency key: a key that already succeeded returns the same
// charge, so a retried job can never charge twice. Its ledger is the gateway_charges table.
//   pm_card_ok        succeeds
//   pm_card_declined  final decline (card_declined)
//   pm_card_flaky     transient failure for the first PAYMENT_FLAKY_FAILURES calls of a key, then succeeds
//   pm_card_timeout   never answers within PAYMENT_GATEWAY_TIMEOUT_MS (transient timeout, every call)
//   anything else     final decline (invalid_payment_method); the API refuses other methods (422)
import { and, eq, sql } from 'drizzle-orm'
import { gatewayCharges } from '../../../db/schema'
import { config } from '../../config'
import { db } from '../../infra/db'

/** The card was refused: retrying will not help. */
export class GatewayDeclinedError extends Error {
  override name = 'GatewayDeclinedError'
  constructor(readonly declineCode: string) {
    super(`charge declined: ${declineCode}`)
  }
}

/** The gateway did not give an answer (timeout, 5xx): retrying with the same key is safe. */
export class GatewayTransientError extends Error {
  override name = 'GatewayTransientError'
}

export type ChargeRequest = { idempotencyKey: string; amountCents: number; currency: string; paymentMethod: string }
export type Charge = { chargeId: string; replayed: boolean }

export async function charge(req: ChargeRequest): Promise<Charge> {
  if (config.PAYMENT_GATEWAY_LATENCY_MS > 0) await Bun.sleep(config.PAYMENT_GATEWAY_LATENCY_MS)
  // Record the call under the key; an existing key counts one more call and keeps its outcome.
  const [row] = await db
    .insert(gatewayCharges)
    .values({
      idempotencyKey: req.idempotencyKey,
      chargeId: `ch_${Bun.randomUUIDv7().replaceAll('-', '')}`,
      status: 'processing',
      method: req.paymentMethod,
      amountCents: req.amountCents,
      currency: req.currency,
    })
    .onConflictDoUpdate({
      target: gatewayCharges.idempotencyKey,
      set: { calls: sql`${gatewayCharges.calls} + 1`, updatedAt: sql`now()` },
    })
    .returning()
  if (!row) throw new GatewayTransientError('gateway returned nothing')
  if (row.status === 'succeeded' || row.status === 'refunded') return { chargeId: row.chargeId, replayed: true }
  if (row.status === 'declined') throw new GatewayDeclinedError('card_declined')
  if (row.amountCents !== req.amountCents || row.currency !== req.currency) {
    throw new GatewayDeclinedError('idempotency_key_reused_with_different_amount')
  }

  const succeed = async (): Promise<Charge> => {
    await db
      .update(gatewayCharges)
      .set({ status: 'succeeded', updatedAt: sql`now()` })
      .where(eq(gatewayCharges.idempotencyKey, req.idempotencyKey))
    return { chargeId: row.chargeId, replayed: false }
  }
  const decline = async (code: string): Promise<never> => {
    await db
      .update(gatewayCharges)
      .set({ status: 'declined', updatedAt: sql`now()` })
      .where(eq(gatewayCharges.idempotencyKey, req.idempotencyKey))
    throw new GatewayDeclinedError(code)
  }

  switch (row.method) {
    case 'pm_card_ok':
      return succeed()
    case 'pm_card_declined':
      return decline('card_declined')
    case 'pm_card_flaky':
      if (row.calls <= config.PAYMENT_FLAKY_FAILURES) throw new GatewayTransientError(`gateway unavailable (call ${row.calls})`)
      return succeed()
    case 'pm_card_timeout':
      await Bun.sleep(config.PAYMENT_GATEWAY_TIMEOUT_MS)
      throw new GatewayTransientError(`gateway timed out after ${config.PAYMENT_GATEWAY_TIMEOUT_MS} ms`)
    default:
      return decline('invalid_payment_method')
  }
}

/** Refunds a succeeded charge (idempotent: refunding twice is a no-op). */
export async function refund(idempotencyKey: string): Promise<boolean> {
  const rows = await db
    .update(gatewayCharges)
    .set({ status: 'refunded', updatedAt: sql`now()` })
    .where(and(eq(gatewayCharges.idempotencyKey, idempotencyKey), eq(gatewayCharges.status, 'succeeded')))
    .returning({ k: gatewayCharges.idempotencyKey })
  return rows.length > 0
}

/** The gateway's record of a key (tests and operators). */
export async function chargeRecord(idempotencyKey: string) {
  const [row] = await db.select().from(gatewayCharges).where(eq(gatewayCharges.idempotencyKey, idempotencyKey))
  return row ?? null
}
