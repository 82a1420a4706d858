// Idempotency-Key for mutating routes (draft-ietf-httpapi-idempotency-key-header, Stripe-like): the
// macro. The key and fingerprint are in key.ts, the store (Postgres rows, Redis markers) in store.ts.
// A route opts in with `{ auth: 'customer', idempotent: true }` (auth first: keys are per user).
//
// Policy:
// - The header is required on opted-in routes (missing/invalid → 400).
// - Keys are scoped to the user and live in Postgres (idempotency_keys) for
//   IDEMPOTENCY_TTL_SECONDS (24 h); after that the same key starts a new request.
// - The request fingerprint is sha256(method, path+query, canonical JSON body). Same key with a
//   different fingerprint → 422 idempotency_mismatch.
// - Claim = ONE statement (INSERT … ON CONFLICT … RETURNING). While the first request runs, the
//   same key → 409 idempotency_in_progress. Completion = ONE UPDATE storing status, body and
//   content headers (shared by the completions of one event-loop turn); later requests get them
//   back byte for byte with `Idempotent-Replayed: true`.
// - 2xx and 4xx outcomes are stored (a retry gets the same answer); 5xx or an unexpected failure
//   deletes the claim so the client can retry.
// - A claim left in_progress longer than IDEMPOTENCY_LOCK_TIMEOUT_SECONDS (its process died) may be
//   re-claimed by the same request; the handlers have their own database fence for that case
//   (orders: unique (user_id, idempotency_key); payments: one live payment per order).
import { Elysia, ElysiaCustomStatusResponse, t } from 'elysia'
import { logger } from '../../infra/logger'
import { counter } from '../../infra/metrics'
import { AppError, ConflictError } from '../../lib/errors'
import { fingerprintOf, parseIdempotencyKey } from './key'
import { type Claim, claimOrRead, completeClaims, releaseClaim, setClaimMarker } from './store'

export { canonicalJson, fingerprintOf, parseIdempotencyKey } from './key'
export { claimedMarker, completeClaims, keyIsHeld, seedClaimMarkers } from './store'

const outcomes = counter(
  'idempotency_requests_total',
  'Idempotency-Key outcomes: claimed, replayed, in_progress, mismatch, stored, released',
  ['outcome'],
)

/** Response headers worth replaying (the rest are per-request: request id, security, CORS). */
const STORED_HEADERS = ['content-type', 'location', 'retry-after'] as const

export class IdempotencyMismatchError extends AppError {
  constructor() {
    super(422, 'idempotency_mismatch', 'Unprocessable Content', 'This Idempotency-Key was already used with a different request')
  }
}

/**
 * What an earlier stage of the same route (the checkout plugin's `resolve`) may hand over in the
 * context: the key it already parsed, and `markerSet` when it already wrote the key's Redis marker
 * (the door does, in the call that admits). The claim itself is kept in the context too.
 */
export type IdempotencyContext = { idempotencyKey?: string; markerSet?: boolean; idempotencyClaim?: Claim | null }

function pickHeaders(get: (name: string) => string | null | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const h of STORED_HEADERS) {
    const v = get(h)
    if (v) out[h] = v
  }
  return out
}

type Ctx = IdempotencyContext & {
  request: Request
  body: unknown
  set: { status?: number | string; headers: Record<string, string | number | undefined> }
  responseValue?: unknown
  user?: { id: string }
}

async function beforeHandle(ctx: Ctx): Promise<Response | undefined> {
  if (!ctx.user) throw new Error('idempotent routes must declare `auth` before `idempotent`')
  const key = ctx.idempotencyKey ?? parseIdempotencyKey(ctx.request.headers.get('idempotency-key'))
  const url = ctx.request.url
  const path = url.slice(url.indexOf('/', 8))
  const fp = fingerprintOf(ctx.request.method, path, ctx.body)
  // The marker goes first: a retry that reaches a sold-out door while this claim is being made or
  // has committed must go on to the full path (see store.ts, Markers).
  if (!ctx.markerSet) await setClaimMarker(ctx.user.id, key)
  for (let i = 0; i < 3; i++) {
    const row = await claimOrRead({ userId: ctx.user.id, key, fp, method: ctx.request.method, path })
    if (!row) continue // raced with a commit or a release: look again
    if (row.claimed) {
      outcomes.inc({ outcome: 'claimed' })
      ctx.idempotencyClaim = { userId: ctx.user.id, key }
      return
    }
    if (row.fingerprint !== fp) {
      outcomes.inc({ outcome: 'mismatch' })
      throw new IdempotencyMismatchError()
    }
    if (row.state === 'in_progress') {
      outcomes.inc({ outcome: 'in_progress' })
      throw new ConflictError('A request with this Idempotency-Key is still being processed; retry shortly', 'idempotency_in_progress')
    }
    outcomes.inc({ outcome: 'replayed' })
    return new Response(row.response_body, {
      status: row.response_status ?? 200,
      headers: { ...row.response_headers, 'idempotent-replayed': 'true' },
    })
  }
  throw new ConflictError('A request with this Idempotency-Key is still being processed; retry shortly', 'idempotency_in_progress')
}

/** Stores the outcome (or releases the key on 5xx) before the response leaves. */
async function mapResponse(ctx: Ctx): Promise<Response | undefined> {
  const claim = ctx.idempotencyClaim
  if (!claim) return
  ctx.idempotencyClaim = null
  const value = ctx.responseValue
  // Problem responses (4xx/5xx mapped by the errors plugin) arrive here as Response objects.
  if (value instanceof Response) {
    await settle(
      claim,
      value.status,
      () => value.clone().text(),
      pickHeaders((h) => value.headers.get(h)),
    )
    return
  }
  let status = typeof ctx.set.status === 'number' ? ctx.set.status : 200
  let payload = value
  if (value instanceof ElysiaCustomStatusResponse) {
    status = Number(value.code)
    payload = value.response
  }
  const isText = typeof payload === 'string'
  const body = isText ? (payload as string) : JSON.stringify(payload ?? null)
  const headers = pickHeaders((h) => {
    const v = ctx.set.headers[h]
    return v === undefined ? undefined : String(v)
  })
  headers['content-type'] ??= isText ? 'text/plain;charset=utf-8' : 'application/json;charset=utf-8'
  await settle(claim, status, async () => body, headers)
  // Serialized here, once, so the first response and every replay are the same bytes.
  return new Response(body, { status, headers })
}

/** Stores a 2xx/4xx outcome, releases the key on 5xx. Never throws: the response still goes out. */
async function settle(claim: Claim, status: number, body: () => Promise<string>, headers: Record<string, string>): Promise<void> {
  try {
    if (status >= 500) await releaseClaim(claim)
    else await completeClaims({ claim, status, body: await body(), headers })
    outcomes.inc({ outcome: status >= 500 ? 'released' : 'stored' })
  } catch (err) {
    // The claim stays in_progress until IDEMPOTENCY_LOCK_TIMEOUT_SECONDS; a retry meanwhile gets 409.
    logger.error({ err, key: claim.key }, 'could not store idempotent response')
  }
}

export const idempotencyPlugin = new Elysia({ name: 'idempotency' }).macro({
  idempotent(enabled: boolean) {
    if (!enabled) return
    return {
      // Optional in validation on purpose: a missing key is our 400 problem, not a schema 422.
      // additionalProperties: a closed header schema would strip Authorization before auth runs.
      headers: t.Object(
        {
          'idempotency-key': t.Optional(
            t.String({
              description:
                'REQUIRED. Unique per operation (e.g. a UUID, max 255 chars); a retry with the same key and body replays the first response (24 h)',
            }),
          ),
        },
        { additionalProperties: true },
      ),
      // `async` matters: Elysia only awaits hooks it can see are async.
      beforeHandle: async (ctx) => beforeHandle(ctx as unknown as Ctx),
      mapResponse: async (ctx) => mapResponse(ctx as unknown as Ctx),
      // Safety net: a claim never completed (the hook chain was cut short) is released.
      afterResponse: (ctx) => {
        const c = ctx as unknown as Ctx
        const claim = c.idempotencyClaim
        if (!claim) return
        c.idempotencyClaim = null
        releaseClaim(claim).catch((err) => logger.error({ err }, 'could not release idempotency key'))
      },
    }
  },
})
