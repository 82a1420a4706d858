// Idempotency-Key for mutating routes (draft-ietf-httpapi-idempotency-key-header, Stripe-like).
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
import { config } from '../config'
import { sql } from '../infra/db'
import { logger } from '../infra/logger'
import { counter } from '../infra/metrics'
import { key as redisKey, withRedis } from '../infra/redis'
import { coalesce } from '../lib/coalesce'
import { AppError, BadRequestError, ConflictError, UnavailableError } from '../lib/errors'
import { isOwnRequest } from '../lib/own-requests'

type Claim = { userId: string; key: string }

const outcomes = counter(
  'idempotency_requests_total',
  'Idempotency-Key outcomes: claimed, replayed, in_progress, mismatch, stored, released',
  ['outcome'],
)
const claims = new WeakMap<Request, Claim>()

/** Response headers worth replaying (the rest are per-request: request id, security, CORS). */
const STORED_HEADERS = ['content-type', 'location', 'retry-after'] as const

const KEY_RE = /^[\x21-\x7e]{1,255}$/

export class IdempotencyMismatchError extends AppError {
  constructor() {
    super(422, 'idempotency_mismatch', 'Unprocessable Content', 'This Idempotency-Key was already used with a different request')
  }
}

/**
 * Redis marker of a claimed key (best effort, same TTL as the row). Fast paths that answer without
 * Postgres (the gated sold-out check) must not answer a retry whose first attempt already ran:
 * they check this marker and take the full path, which replays. A fast path that lets the request
 * through may set the marker itself (in the same call) and say so with `markerSet`: the claim then
 * skips its own SET. Set early, the marker only ever sends a retry down the full path, which is
 * always correct.
 */
export const claimedMarker = (userId: string, key: string) => ({
  key: redisKey('idem', userId, key),
  ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
})
const markedEarly = new WeakSet<Request>()
export const markerSet = (request: Request): void => void markedEarly.add(request)

/** Parses the header: a token or an RFC 8941 sf-string ("…"), 1–255 visible ASCII characters. */
export function parseIdempotencyKey(raw: string | null | undefined): string {
  if (raw === null || raw === undefined || raw.trim() === '') {
    throw new BadRequestError('The Idempotency-Key header is required for this request', 'idempotency_key_missing', {
      errors: [{ field: 'headers.idempotency-key', message: 'is required' }],
    })
  }
  let key = raw.trim()
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1)
  if (!KEY_RE.test(key)) {
    throw new BadRequestError('Idempotency-Key must be 1–255 visible ASCII characters', 'idempotency_key_invalid', {
      errors: [{ field: 'headers.idempotency-key', message: 'must be 1–255 visible ASCII characters' }],
    })
  }
  return key
}

/** JSON with object keys sorted at every level, so {a,b} and {b,a} fingerprint the same. */
export function canonicalJson(value: unknown): string {
  if (value === undefined) return ''
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}

export function fingerprintOf(method: string, pathAndQuery: string, body: unknown): string {
  return new Bun.CryptoHasher('sha256').update(`${method}\n${pathAndQuery}\n${canonicalJson(body)}`).digest('hex')
}

type Existing = {
  claimed: boolean
  fingerprint: string | null
  state: 'in_progress' | 'completed' | null
  response_status: number | null
  response_body: string | null
  response_headers: Record<string, string> | null
}

type ClaimInput = { userId: string; key: string; fp: string; method: string; path: string }

/** The one order in which statements lock keys (claims and completions alike), so no two deadlock. */
const lockOrder = (a: Claim, b: Claim) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0)

/**
 * Claims (user, key): inserts, or takes over an expired row or a stale in-progress row of the same
 * request; otherwise returns the existing row. The claims of one event-loop turn go in ONE
 * statement and one commit (a flash sale claims hundreds of keys a second), sorted so that two
 * instances' batches lock keys in the same order. The existing-row branch reads the statement
 * snapshot, so a row committed by a racing request a moment later can be invisible to it, or seen
 * in a version that someone else has just taken over (expired or stale): then nothing comes back
 * (null) and the caller simply asks again. A second claim of the same key in one batch (one
 * statement cannot insert a row and then conflict with it) is answered from the first: in
 * progress if the first claimed it, else the same row.
 */
const claimOrRead = coalesce<ClaimInput, Existing | null>(
  async (inputs) => {
    const idOf = (c: ClaimInput) => `${c.userId} ${c.key}`
    const byId = new Map<string, { c: ClaimInput; i: number }>()
    for (const [i, c] of inputs.entries()) if (!byId.has(idOf(c))) byId.set(idOf(c), { c, i })
    const firsts = [...byId.values()].sort((a, b) => lockOrder(a.c, b.c))
    const ttl = config.IDEMPOTENCY_TTL_SECONDS
    const stale = config.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS
    // One jsonb parameter, not sql.array(): postgres.js sends an array as a bare string when it is
    // the first query of a fresh pool (its array types are not fetched yet), which Postgres refuses.
    const batch = JSON.stringify(
      firsts.map(({ c }, n) => ({ user_id: c.userId, key: c.key, fingerprint: c.fp, method: c.method, path: c.path, n })),
    )
    const rows = await sql<(Existing & { n: number; found: boolean })[]>`
      with v as (
        select * from jsonb_to_recordset(${batch}::jsonb) as v(user_id uuid, key text, fingerprint text, method text, path text, n int)
      ), ins as (
        insert into idempotency_keys (user_id, key, fingerprint, method, path, state, created_at, expires_at)
        select user_id, key, fingerprint, method, path, 'in_progress', now(), now() + make_interval(secs => ${ttl})
        from v order by n
        on conflict (user_id, key) do update set
          fingerprint = excluded.fingerprint, method = excluded.method, path = excluded.path, state = 'in_progress',
          response_status = null, response_body = null, response_headers = null,
          created_at = now(), expires_at = excluded.expires_at
        where idempotency_keys.expires_at <= now()
           or (idempotency_keys.state = 'in_progress'
               and idempotency_keys.fingerprint = excluded.fingerprint
               and idempotency_keys.created_at < now() - make_interval(secs => ${stale}))
        returning user_id, key
      )
      select v.n, ins.key is not null as claimed, k.fingerprint, k.state, k.response_status,
             k.response_body, k.response_headers,
             -- The ON CONFLICT test again, on the snapshot: a row it would take over but did not was
             -- taken over by someone else since (ins saw the newer version): no answer, ask again.
             ins.key is not null or (k.key is not null and not (k.expires_at <= now()
               or (k.state = 'in_progress' and k.fingerprint = v.fingerprint
                   and k.created_at < now() - make_interval(secs => ${stale})))) as found
      from v
      left join ins on ins.user_id = v.user_id and ins.key = v.key
      left join idempotency_keys k on ins.key is null and k.user_id = v.user_id and k.key = v.key`
    const rowOf = new Map<{ c: ClaimInput; i: number }, Existing>()
    for (const { n, found, ...row } of rows) if (found) rowOf.set(firsts[n] as { c: ClaimInput; i: number }, row)
    return inputs.map((c, i) => {
      const first = byId.get(idOf(c)) as { c: ClaimInput; i: number }
      const row = rowOf.get(first) ?? null
      if (first.i === i || !row?.claimed) return row
      // A second claim of the same key in this turn: the first one now holds it, in progress.
      return { ...row, claimed: false, fingerprint: first.c.fp, state: 'in_progress' }
    })
  },
  // A batch that fails (e.g. a deadlock with another instance) is retried claim by claim.
  { isolate: true },
)

/**
 * Whether (user, key) is held in the store: claimed (in progress or completed) and not expired.
 * The checkout door asks before it refuses: a held key must get its own answer (the replay, or
 * in progress) from the full path, never the gate's, even when Redis lost the key's marker. The
 * refusals of one event-loop turn share ONE primary-key lookup statement (a sold-out crowd is all
 * refusals).
 */
export const keyIsHeld = coalesce<Claim, boolean>(async (cs) => {
  const batch = JSON.stringify(cs.map((c, n) => ({ user_id: c.userId, key: c.key, n })))
  const rows = await sql<{ n: number }[]>`
    select v.n from jsonb_to_recordset(${batch}::jsonb) as v(user_id uuid, key text, n int)
    join idempotency_keys k on k.user_id = v.user_id and k.key = v.key and k.expires_at > now()`
  const held = new Set(rows.map((r) => r.n))
  return cs.map((_, n) => held.has(n))
})

type Completion = { claim: Claim; status: number; body: string; headers: Record<string, string> }

/**
 * Stores outcomes: the completions of one event-loop turn go in ONE statement and one commit (a
 * deep-stock sale completes hundreds of keys a second), before any of their responses leaves. The
 * rows are locked in `lockOrder` first, as claims lock them: a claim batch that meets a key being
 * completed (a client's early retry) waits for it instead of deadlocking with it. Exported for tests.
 */
export const completeClaims = coalesce<Completion, void>(
  async (cs) => {
    const batch = [...cs]
      .sort((a, b) => lockOrder(a.claim, b.claim))
      .map((c, n) => ({ user_id: c.claim.userId, key: c.claim.key, status: c.status, body: c.body, headers: c.headers, n }))
    await sql`
      with v as (
        select * from jsonb_to_recordset(${JSON.stringify(batch)}::jsonb)
          as v(user_id uuid, key text, status int, body text, headers jsonb, n int)
      ), locked as (
        select k.user_id, k.key from idempotency_keys k join v on k.user_id = v.user_id and k.key = v.key
        where k.state = 'in_progress'
        order by v.n
        for update of k
      )
      update idempotency_keys k
      set state = 'completed', response_status = v.status, response_body = v.body, response_headers = v.headers
      from v join locked l on l.user_id = v.user_id and l.key = v.key
      where k.user_id = l.user_id and k.key = l.key and k.state = 'in_progress'`
    return cs.map(() => undefined)
  },
  // One bad row must not cost the others their stored response.
  { isolate: true },
)

async function release(claim: Claim): Promise<void> {
  await sql`delete from idempotency_keys where user_id = ${claim.userId} and key = ${claim.key} and state = 'in_progress'`
}

function pickHeaders(get: (name: string) => string | null | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const h of STORED_HEADERS) {
    const v = get(h)
    if (v) out[h] = v
  }
  return out
}

type Ctx = {
  request: Request
  body: unknown
  set: { status?: number | string; headers: Record<string, string | number | undefined> }
  responseValue?: unknown
  user?: { id: string }
}

async function beforeHandle(ctx: Ctx): Promise<Response | undefined> {
  if (!ctx.user) throw new Error('idempotent routes must declare `auth` before `idempotent`')
  const key = parseIdempotencyKey(ctx.request.headers.get('idempotency-key'))
  const url = new URL(ctx.request.url)
  const path = url.pathname + url.search
  const fp = fingerprintOf(ctx.request.method, path, ctx.body)
  // The process's own requests (the boot warm-up) never claim a key, so none of them can go on to
  // write anything: a warm-up order the checkout door did not refuse ends here.
  if (isOwnRequest(ctx.request)) throw new UnavailableError('Own requests do not execute idempotent writes', 'own_request')
  for (let i = 0; i < 3; i++) {
    const row = await claimOrRead({ userId: ctx.user.id, key, fp, method: ctx.request.method, path })
    if (!row) continue // raced with a commit or a release: look again
    if (row.claimed) {
      outcomes.inc({ outcome: 'claimed' })
      claims.set(ctx.request, { userId: ctx.user.id, key })
      if (markedEarly.has(ctx.request)) return
      const marker = claimedMarker(ctx.user.id, key)
      await withRedis(
        (r) => r.set(marker.key, '1', 'EX', marker.ttlSeconds),
        () => null,
      )
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
  const claim = claims.get(ctx.request)
  if (!claim) return
  claims.delete(ctx.request)
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
    if (status >= 500) await release(claim)
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
      afterResponse: ({ request }) => {
        const claim = claims.get(request)
        if (!claim) return
        claims.delete(request)
        release(claim).catch((err) => logger.error({ err }, 'could not release idempotency key'))
      },
    }
  },
})
