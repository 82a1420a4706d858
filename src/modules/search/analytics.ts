// Search analytics (seed 002): clicks on results, and per-window reports over search_queries and
// search_clicks — top queries with click-through and mean clicked position, zero-result queries,
// latency percentiles, the share served degraded.
import { sql } from 'drizzle-orm'
import { searchClicks } from '../../../db/schema'
import { db } from '../../infra/db'
import { ValidationProblem } from '../../lib/errors'
import { isForeignKeyViolation } from '../../lib/pg-errors'
import { flushSearchLog, searchBuffered } from '../catalog/search'

export async function recordClick(c: { searchId: string; productId: string; position: number }): Promise<void> {
  // A click can arrive before this process's batch of searches is written (≤ 200 ms): write it first.
  if (searchBuffered(c.searchId)) await flushSearchLog()
  try {
    await db.insert(searchClicks).values(c)
  } catch (err) {
    if (!isForeignKeyViolation(err)) throw err
    const [known] = (await db.execute(sql`select 1 from search_queries where id = ${c.searchId}`)) as unknown[]
    throw known
      ? ValidationProblem.field('body.productId', 'is not a product')
      : ValidationProblem.field('body.searchId', 'is not a search of this shop')
  }
}

const UNIT_SECONDS = { m: 60, h: 3600, d: 86400 } as const

export async function searchAnalytics(window: string, limit: number) {
  const seconds = Number(window.slice(0, -1)) * UNIT_SECONDS[window.slice(-1) as keyof typeof UNIT_SECONDS]
  const to = new Date()
  const from = new Date(to.getTime() - seconds * 1000)
  await flushSearchLog()
  const inWindow = sql`q.created_at > ${from.toISOString()}::timestamptz and q.created_at <= ${to.toISOString()}::timestamptz`
  const [top, zero, summary, modes] = await Promise.all([
    db.execute<{ query: string; searches: number; clicks: number; clicked: number; mean_pos: number | null }>(sql`
      select lower(q.query) as query, count(distinct q.id)::int as searches, count(c.id)::int as clicks,
        count(distinct c.search_id)::int as clicked, avg(c.position)::float8 as mean_pos
      from search_queries q left join search_clicks c on c.search_id = q.id
      where ${inWindow} group by lower(q.query) order by searches desc, query limit ${limit}`),
    db.execute<{ query: string; searches: number }>(sql`
      select lower(q.query) as query, count(*)::int as searches from search_queries q
      where ${inWindow} and q.result_count = 0 group by lower(q.query) order by searches desc, query limit ${limit}`),
    db.execute<{ n: number; p50: number | null; p95: number | null; p99: number | null; degraded: number }>(sql`
      select count(*)::int as n,
        percentile_cont(0.5) within group (order by q.latency_ms) as p50,
        percentile_cont(0.95) within group (order by q.latency_ms) as p95,
        percentile_cont(0.99) within group (order by q.latency_ms) as p99,
        count(*) filter (where cardinality(q.degraded) > 0 or q.mode is distinct from q.requested_mode)::int as degraded
      from search_queries q where ${inWindow}`),
    db.execute<{ mode: string; n: number }>(sql`
      select coalesce(q.mode, 'keyword') as mode, count(*)::int as n from search_queries q where ${inWindow} group by 1`),
  ])
  const s = (summary as unknown as { n: number; p50: number | null; p95: number | null; p99: number | null; degraded: number }[])[0]
  const n = s?.n ?? 0
  const round = (v: number | null | undefined) => (v === null || v === undefined ? null : Math.round(v * 100) / 100)
  return {
    window,
    from: from.toISOString(),
    to: to.toISOString(),
    searches: n,
    topQueries: (top as unknown as { query: string; searches: number; clicks: number; clicked: number; mean_pos: number | null }[]).map(
      (r) => ({
        query: r.query,
        searches: r.searches,
        clicks: r.clicks,
        clickThroughRate: r.searches > 0 ? r.clicked / r.searches : 0,
        meanClickedPosition: round(r.mean_pos),
      }),
    ),
    zeroResultQueries: zero as unknown as { query: string; searches: number }[],
    latencyMs: { p50: round(s?.p50), p95: round(s?.p95), p99: round(s?.p99) },
    degradedShare: n > 0 ? (s?.degraded ?? 0) / n : 0,
    modes: Object.fromEntries((modes as unknown as { mode: string; n: number }[]).map((m) => [m.mode, m.n])),
  }
}

/** Read-only page of the audit log the auth and users modules already write (newest first). */
export async function listAudit(f: { actor?: string; action?: string; from?: string; to?: string; limit: number; cursor?: string }) {
  if (f.from && f.to && f.from > f.to) throw ValidationProblem.field('query.from', 'must not be after to')
  const where = [sql`true`]
  if (f.actor) where.push(sql`user_id = ${f.actor}`)
  if (f.action) where.push(sql`event = ${f.action}`)
  if (f.from) where.push(sql`created_at >= ${f.from}::timestamptz`)
  if (f.to) where.push(sql`created_at <= ${f.to}::timestamptz`)
  if (f.cursor !== undefined) {
    if (!/^[0-9a-f-]{36}$/.test(f.cursor)) throw ValidationProblem.field('query.cursor', 'is not a cursor returned by this endpoint')
    where.push(sql`id < ${f.cursor}::uuid`)
  }
  type Row = {
    id: string
    event: string
    user_id: string | null
    ip: string | null
    request_id: string | null
    details: Record<string, unknown>
    created_at: Date | string
  }
  const rows = (await db.execute<Row>(sql`
    select id, event, user_id, ip, request_id, details, created_at from audit_log
    where ${sql.join(where, sql` and `)} order by id desc limit ${f.limit + 1}`)) as unknown as Row[]
  const items = rows.slice(0, f.limit).map((r) => ({
    id: r.id,
    action: r.event,
    actor: r.user_id,
    ip: r.ip,
    requestId: r.request_id,
    details: r.details,
    createdAt: new Date(r.created_at).toISOString(),
  }))
  return { items, nextCursor: rows.length > f.limit ? (items[items.length - 1]?.id ?? null) : null }
}
