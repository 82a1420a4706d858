// postgres.js pool + Drizzle. Slow statements are logged; every wait is bounded (db-timeouts.ts);
// pool usage is read from pg_stat_activity by application_name, over a connection of its own, when
// /metrics is scraped.
import { is } from 'drizzle-orm'
import { drizzle, PostgresJsSession } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import * as schema from '../../db/schema'
import { config } from '../config'
import { withTimeout } from '../lib/timeout'
import { busyError, guardQuery, guardTransaction, refuseIfLate } from './db-timeouts'
import { logger } from './logger'
import { counter } from './metrics'

const slowQueries = counter('db_slow_queries_total', 'Statements slower than SLOW_QUERY_MS')

export const applicationName = `stampede-${config.ROLE}-${process.pid}`

function databaseUrl(): string {
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL was not resolved before the database was opened')
  return config.DATABASE_URL
}

type Sql = postgres.Sql

type Settle = ((value: unknown) => unknown) | null | undefined
type Thenable = { then: (ok?: Settle, fail?: Settle) => Promise<unknown> }
type Unsafe = (query: string, params?: unknown[], options?: unknown) => Thenable
type Begin = (...args: unknown[]) => Promise<unknown>

// Under overload nearly every statement is "slow" (it waited for a pooled connection), and a log
// line per statement would burn the CPU the overload is short of: at most SLOW_LOGS_PER_SECOND
// lines per second, then one line at the end of that second saying how many were left out (the
// counter counts them all).
const SLOW_LOGS_PER_SECOND = 10
let slowWindow = 0
let slowLogged = 0
let slowUnlogged = 0

function flushUnlogged(): void {
  if (slowUnlogged > 0) {
    logger.warn({ unlogged: slowUnlogged, since: new Date(slowWindow).toISOString() }, 'more slow queries in this second than were logged')
  }
  slowUnlogged = 0
}

function noteDuration(query: () => string, t0: number): void {
  const ms = performance.now() - t0
  if (ms <= config.SLOW_QUERY_MS) return
  slowQueries.inc()
  const now = Date.now()
  if (now - slowWindow >= 1000) {
    slowWindow = now
    slowLogged = 0
  }
  if (slowLogged++ < SLOW_LOGS_PER_SECOND) logger.warn({ ms: Math.round(ms), query: query().slice(0, 500) }, 'slow query')
  else if (slowUnlogged++ === 0) setTimeout(flushUnlogged, slowWindow + 1000 - now).unref()
}

/**
 * Times and bounds a query from its first `then`: postgres.js sends a query when it is first
 * awaited, and later awaits of the same query (Drizzle does this in transactions) are not re-timed.
 * `pooled`: the query waits for a pool connection (not inside a transaction, which holds one).
 */
function timed<Q extends Thenable>(pending: Q, query: () => string, pooled: boolean): Q {
  const then = pending.then.bind(pending)
  let started = false
  // biome-ignore lint/suspicious/noThenProperty: deliberately wrapping the thenable
  pending.then = (ok, fail) => {
    if (started) return then(ok, fail)
    started = true
    const late = refuseIfLate()
    if (late) return Promise.reject(late).then(ok, fail)
    const t0 = performance.now()
    const guard = guardQuery(pending as unknown as Parameters<typeof guardQuery>[0], pooled)
    return then(
      (v) => {
        guard?.done()
        noteDuration(query, t0)
        return ok ? ok(v) : v
      },
      (e) => {
        guard?.done()
        noteDuration(query, t0)
        const err = busyError(e, guard?.reason)
        if (fail) return fail(err)
        throw err
      },
    )
  }
  return pending
}

/**
 * Kept rather than Postgres's log_min_duration_statement (superuser-only to set per session or
 * role, and it logs on the server, not in our log or /metrics): this wrapper is also where every
 * statement gets the request's deadline and the pool-acquire bound (db-timeouts.ts), so the timing
 * costs one performance.now() pair per statement on top of a wrapper we need anyway.
 * Counts and logs statements slower than SLOW_QUERY_MS, whichever way they are written: `unsafe`
 * (what Drizzle calls) and tagged templates (sql`…`, what the hot paths write through pgOf), in
 * the pool, its transactions and their savepoints.
 */
function instrument<T extends Sql | postgres.TransactionSql>(sql: T, pooled: boolean): T {
  const target = sql as unknown as { unsafe: Unsafe; begin?: Begin; savepoint?: Begin }
  const unsafe = target.unsafe.bind(sql)
  target.unsafe = (query, params, options) => timed(unsafe(query, params, options), () => query, pooled)
  const begin = target.begin?.bind(sql)
  if (begin) {
    target.begin = (...args) =>
      guardTransaction((enter) => {
        const fn = args[args.length - 1] as (tx: postgres.TransactionSql) => unknown
        args[args.length - 1] = (tx: postgres.TransactionSql) => {
          enter()
          return fn(instrument(tx, false))
        }
        return begin(...args)
      })
  }
  const savepoint = target.savepoint?.bind(sql)
  if (savepoint) {
    target.savepoint = (...args) => {
      const fn = args[args.length - 1] as (tx: postgres.TransactionSql) => unknown
      args[args.length - 1] = (tx: postgres.TransactionSql) => fn(instrument(tx, false))
      return savepoint(...args)
    }
  }
  // A tagged template is a call of the client itself; helper calls (sql(ids), sql(row, 'col'))
  // build fragments, which are never awaited, and pass through untouched.
  return new Proxy(sql, {
    apply(fn, self, args: unknown[]) {
      const result = Reflect.apply(fn as (...a: unknown[]) => unknown, self, args)
      const strings = args[0] as { raw?: unknown } | undefined
      if (!Array.isArray(strings?.raw)) return result
      // The text is built only for the log line of a slow one.
      return timed(result as Thenable, () => (strings as unknown as string[]).reduce((q, part, i) => `${q}$${i}${part}`), pooled)
    },
  })
}

// A worker's batch jobs (rebuilds, purges) may legitimately run long statements; requests may not.
const statementTimeout = config.ROLE === 'worker' ? config.WORKER_STATEMENT_TIMEOUT_MS : config.DATABASE_STATEMENT_TIMEOUT_MS

export const sql = instrument(
  postgres(databaseUrl(), {
    max: config.DATABASE_POOL_MAX,
    idle_timeout: 30,
    connect_timeout: 10,
    max_lifetime: 60 * 30,
    // No pipelining onto busy connections: a statement queued behind a blocked one waits for it
    // (12 requests behind a held lock took 10 s, a lock_timeout each), and once written to the
    // socket it can only be cancelled by a racy cancel request. Unpipelined, a statement waits in
    // the pool's queue, whence the acquire timeout removes it before it ever runs. (Pipelining only
    // happens when every connection is busy; BEGIN then reserves correctly thanks to the patch.)
    max_pipeline: 0,
    onnotice: () => {},
    connection: {
      application_name: applicationName,
      statement_timeout: statementTimeout,
      lock_timeout: config.DATABASE_LOCK_TIMEOUT_MS,
    },
  } as postgres.Options<Record<string, never>>),
  true,
)

/**
 * One connection outside the pool for health and metrics: they must answer while the pool is
 * exhausted, and tell "Postgres is down" from "the pool is full". Opened on first use.
 */
const probe = postgres(databaseUrl(), {
  max: 1,
  idle_timeout: 60,
  connect_timeout: 2,
  onnotice: () => {},
  connection: { application_name: `${applicationName}-probe`, statement_timeout: 2000 },
})

export const db = drizzle({ client: sql, schema, casing: 'snake_case' })

export type Db = typeof db
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]
/** Services take either the pool or a transaction, so callers can compose them in one tx. */
export type DbOrTx = Db | Tx

/** The postgres.js client of the measured hot paths (a transaction's, or the pool's). */
export type Pg = postgres.TransactionSql

/**
 * The postgres.js client under a Drizzle database or transaction: the one sanctioned way to run raw
 * SQL, for the statements every order runs. Its tagged templates are prepared once per connection
 * and then cost one round trip; Drizzle 0.45 sends its queries (execute() included) unprepared,
 * and postgres.js then describes each parameterised one before binding it: two round trips, and a
 * parse and plan every time. Read through Drizzle's public, typed surface (`_.session`, a
 * PostgresJsSession whose `client` is public), so a Drizzle upgrade that changes it fails here,
 * loudly, not somewhere in a checkout. Slow-query timing covers these too (instrument).
 */
export function pgOf(tx: DbOrTx): Pg {
  const session = tx._.session
  if (!is(session, PostgresJsSession)) throw new Error('pgOf: not a postgres.js Drizzle session')
  return session.client as unknown as Pg
}

async function ping(client: Sql, timeoutMs: number): Promise<boolean> {
  try {
    await withTimeout(client`select 1`.execute(), timeoutMs)
    return true
  } catch {
    return false
  }
}

/** ok: the pool answers; saturated: Postgres answers but no pool connection came free in time. */
export async function postgresStatus(timeoutMs = 1000): Promise<'ok' | 'saturated' | 'down'> {
  if (await ping(sql, timeoutMs)) return 'ok'
  return (await ping(probe, timeoutMs)) ? 'saturated' : 'down'
}

export async function pingDb(timeoutMs = 1000): Promise<boolean> {
  return ping(sql, timeoutMs)
}

export async function poolUsage(timeoutMs = 1000): Promise<{ state: string; n: number }[]> {
  return withTimeout(
    probe<{ state: string; n: number }[]>`
      select coalesce(state, 'unknown') as state, count(*)::int as n
      from pg_stat_activity where application_name = ${applicationName} group by 1`.execute(),
    timeoutMs,
  )
}

export async function closeDb(): Promise<void> {
  await Promise.all([sql.end({ timeout: 5 }), probe.end({ timeout: 1 })])
}
