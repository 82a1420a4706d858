// The checkout plugin of POST /orders (the engine is checkout.ts): resolves `{ idempotencyKey, lines, ticket }` once, after
// authentication and validation, and runs the gated strategy's door on them.
//
// The door (flash sales): before the Idempotency-Key is claimed in Postgres, the Redis gate either
// answers 409 out_of_stock (it knows the items are gone) or takes the units at once and hands the
// request a ticket for them. So no more requests go on to Postgres than there are units, and the
// crowd behind them is answered from Redis alone.
// - A refusal happens before the request executes, like a validation failure: nothing is written
//   and nothing is stored under the key (Stripe's rule); a retry is evaluated afresh. A retry whose
//   key was already claimed skips the door (its marker in Redis) and gets the stored response. The
//   door sets that marker itself when it admits, in the same Redis call. Redis can lose markers (a
//   restart, a failover, a claim made while it was unreachable): while it may have, the gate says
//   so (no markers-complete key, plugins/idempotency/store.ts) and the door asks Postgres whether
//   the key is held before refusing (one batched primary-key lookup per event-loop turn): a held
//   key goes on to the full path, which replays it or answers idempotency_in_progress.
// - The ticket goes to the reservation, which owns it from then on; if the request ends any other
//   way (validation, idempotency replay or conflict, unknown product, an error), afterResponse
//   gives the units back.
// - The same line validation as the full path runs first, and the gate does not vouch for unknown
//   or deleted products (the full path answers 422 for them), so every refusal here is one the
//   full path would also give. Declare it after `auth` and before `idempotent` (macros run in order).
import { Elysia } from 'elysia'
import { counter } from '../../infra/metrics'
import { claimedMarker, keyIsHeld, parseIdempotencyKey } from '../../plugins/idempotency'
import { admitAtTheDoor, type GateTicket, OutOfStockError, returnGateTicket } from '../inventory/service'
import { mergeLines } from './checkout'

const heldLookups = counter(
  'checkout_held_key_lookups_total',
  'Sold-out refusals that asked Postgres whether the key is held (the claim markers were not known to be complete)',
)

type Line = { productId: string; quantity: number }
type Resolved = { idempotencyKey: string; lines: Line[] | null; ticket: GateTicket | null; markerSet: boolean }

async function resolveCheckout(ctx: { body: unknown; request: Request; user?: { id: string } }): Promise<Resolved> {
  const idempotencyKey = parseIdempotencyKey(ctx.request.headers.get('idempotency-key'))
  const body = ctx.body as { items?: Line[]; fromCart?: boolean } | null
  const user = ctx.user
  // fromCart: the lines are the cart's, read by the full path.
  if (!body?.items?.length || body.fromCart !== undefined || !user) return { idempotencyKey, lines: null, ticket: null, markerSet: false }
  const lines = mergeLines(body.items)
  try {
    const ticket = await admitAtTheDoor(lines, claimedMarker(user.id, idempotencyKey))
    return { idempotencyKey, lines, ticket, markerSet: ticket !== null }
  } catch (err) {
    // Sold out, but the key's marker may be missing: a held key goes on to the full path. Can't
    // tell (Postgres unreachable): the full path decides, as for a held key.
    if (!(err instanceof OutOfStockError) || !err.verifyKey) throw err
    heldLookups.inc()
    if (await keyIsHeld({ userId: user.id, key: idempotencyKey }).catch(() => true))
      return { idempotencyKey, lines, ticket: null, markerSet: false }
    throw err
  }
}

export const checkoutPlugin = new Elysia({ name: 'orders-checkout' }).macro({
  checkout: {
    resolve: (ctx) => resolveCheckout(ctx as never),
    afterResponse(ctx) {
      const ticket = (ctx as { ticket?: GateTicket | null }).ticket
      if (ticket) void returnGateTicket(ticket).catch(() => {})
    },
  },
})
