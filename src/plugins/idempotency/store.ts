// The idempotency store: claimed keys and their stored responses in Postgres (idempotency_keys,
// the truth), and a marker per claimed key in Redis that lets the checkout door answer a sold-out
// crowd without asking Postgres about each key.
import type Redis from 'ioredis'
import { config } from '../../config'
import { sql } from '../../infra/db'
import { logger } from '../../infra/logger'
import { redis, key as redisKey, withRedis } from '../../infra/redis'
import { coalesce } from '../../lib/coalesce'

export type Claim = { userId: string; key: string }

export type Existing = {
  claimed: boolean
  fingerprint: string | null
  state: 'in_progress' | 'completed' | null
  response_status: number | null
  response_body: string | null
  response_headers: Record<string, string> | null
}

type ClaimInput = { userId: string; key: string; fp: string; method: string; path: string }

/**
 * Markers. A claimed key has a Redis marker (best effort, same TTL as the row). Fast paths that
 * answer without Postgres (the gated sold-out door) must not answer a retry whose first attempt
 * already ran: a marker sends it down the full path, which replays. Set early, a marker only ever
 * sends a retry down the full path, which is always correct; a missing one is the danger. So the
 * key `idem:markers-complete` says "every held key has its marker": the door refuses on Redis's
 * word alone only while it exists (checked in the same Lua call), and asks Postgres otherwise
 * (keyIsHeld). It lives in the same Redis as the markers, so a Redis that lost its data (restart
 * without persistence, a flush) lost it too, at once; it comes back only from seedClaimMarkers,
 * which writes the marker of every held key first. A process that could not write a marker (Redis
 * unreachable mid-claim) deletes it as soon as Redis answers again (markerMissed).
 * Measured (bench/sold-out-cpu.ts): asking Postgres at every refusal cost 20–40 µs of the API's
 * CPU per sold-out refusal.
 */
export const markersCompleteKey = (): string => redisKey('idem', 'markers-complete')

export const claimedMarker = (userId: string, key: string) => ({
  key: redisKey('idem', userId, key),
  ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
  completeKey: markersCompleteKey(),
})

/** Writes the marker of (user, key), before its claim; a failure withdraws markers-complete. */
export async function setClaimMarker(userId: string, key: string): Promise<void> {
  const marker = claimedMarker(userId, key)
  const ok = await withRedis(
    async (r) => (await r.set(marker.key, '1', 'EX', marker.ttlSeconds)) === 'OK',
    () => false,
  )
  if (!ok) markerMissed()
}

let withdrawing = false
/** A held key may now lack its marker: markers-complete goes, as soon as Redis takes a command. */
function markerMissed(): void {
  if (withdrawing) return
  withdrawing = true
  const client = redis()
  if (!client) {
    withdrawing = false
    return
  }
  const attempt = () => {
    client.del(markersCompleteKey()).then(
      () => {
        withdrawing = false
        logger.warn('a claim could not write its Redis marker: sold-out refusals ask Postgres until the markers are seeded again')
      },
      () => client.once('ready', attempt),
    )
  }
  if (client.status === 'ready') attempt()
  else client.once('ready', attempt)
}

const SEED_PAGE = 1000

/**
 * Writes the marker of every held key (claimed, not expired) and then markers-complete. `rebuild`
 * (Redis lost data, or was unreachable for a while): withdraw markers-complete first and seed even
 * if it is there; otherwise nothing happens while it exists. Claims that happen meanwhile write
 * their own markers. Returns the markers written; null when Redis is unusable.
 */
export async function seedClaimMarkers(opts: { rebuild?: boolean; client?: Redis } = {}): Promise<number | null> {
  const seed = async (r: Redis): Promise<number> => {
    const done = markersCompleteKey()
    if (opts.rebuild) await r.del(done)
    else if ((await r.exists(done)) === 1) return 0
    let written = 0
    let after: { user_id: string; key: string } | null = null
    for (;;) {
      const rows: { user_id: string; key: string; ms: string }[] = await sql`
          select user_id, key, ceil(extract(epoch from expires_at - now()) * 1000)::bigint as ms
          from idempotency_keys
          where expires_at > now() ${after ? sql`and (user_id, key) > (${after.user_id}::uuid, ${after.key})` : sql``}
          order by user_id, key
          limit ${SEED_PAGE}`
      if (rows.length === 0) break
      const p = r.pipeline()
      for (const row of rows) p.set(redisKey('idem', row.user_id, row.key), '1', 'PX', Math.max(1, Number(row.ms)))
      await p.exec()
      written += rows.length
      if (rows.length < SEED_PAGE) break
      after = rows[rows.length - 1] as { user_id: string; key: string }
    }
    await r.set(done, '1')
    return written
  }
  return opts.client ? seed(opts.client) : withRedis(seed, () => null)
}

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
export const claimOrRead = coalesce<ClaimInput, Existing | null>(
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
 * The checkout door asks before it refuses while the markers may be incomplete: a held key must
 * get its own answer (the replay, or in progress) from the full path, never the gate's. The
 * refusals of one event-loop turn share ONE primary-key lookup statement.
 */
export const keyIsHeld = coalesce<Claim, boolean>(async (cs) => {
  const batch = JSON.stringify(cs.map((c, n) => ({ user_id: c.userId, key: c.key, n })))
  const rows = await sql<{ n: number }[]>`
    select v.n from jsonb_to_recordset(${batch}::jsonb) as v(user_id uuid, key text, n int)
    join idempotency_keys k on k.user_id = v.user_id and k.key = v.key and k.expires_at > now()`
  const held = new Set(rows.map((r) => r.n))
  return cs.map((_, n) => held.has(n))
})

export type Completion = { claim: Claim; status: number; body: string; headers: Record<string, string> }

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

export async function releaseClaim(claim: Claim): Promise<void> {
  await sql`delete from idempotency_keys where user_id = ${claim.userId} and key = ${claim.key} and state = 'in_progress'`
}
