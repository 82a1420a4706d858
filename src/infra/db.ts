// postgres.js pool + Drizzle. Slow statements are logged; pool usage is read from
// pg_stat_activity by application_name when /metrics is scraped.
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import * as schema from '../../db/schema'
import { config } from '../config'
import { withTimeout } from '../lib/timeout'
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

function noteDuration(query: string, t0: number): void {
  const ms = performance.now() - t0
  if (ms <= config.SLOW_QUERY_MS) return
  slowQueries.inc()
  const now = Date.now()
  if (now - slowWindow >= 1000) {
    slowWindow = now
    slowLogged = 0
  }
  if (slowLogged++ < SLOW_LOGS_PER_SECOND) logger.warn({ ms: Math.round(ms), query: query.slice(0, 500) }, 'slow query')
  else if (slowUnlogged++ === 0) setTimeout(flushUnlogged, slowWindow + 1000 - now).unref()
}

/**
 * Wraps `unsafe` (what Drizzle calls) so statements slower than SLOW_QUERY_MS are counted and
 * logged. postgres.js sends a query when it is first awaited, so timing starts at the first
 * `then`; later awaits of the same query (Drizzle does this in transactions) are not re-timed.
 */
function instrument<T extends Sql | postgres.TransactionSql>(sql: T): T {
  const target = sql as unknown as { unsafe: Unsafe; begin?: Begin }
  const unsafe = target.unsafe.bind(sql)
  target.unsafe = (query, params, options) => {
    const pending = unsafe(query, params, options)
    const then = pending.then.bind(pending)
    let timed = false
    // biome-ignore lint/suspicious/noThenProperty: deliberately wrapping the thenable
    pending.then = (ok, fail) => {
      if (timed) return then(ok, fail)
      timed = true
      const t0 = performance.now()
      return then(
        (v) => {
          noteDuration(query, t0)
          return ok ? ok(v) : v
        },
        (e) => {
          noteDuration(query, t0)
          if (fail) return fail(e)
          throw e
        },
      )
    }
    return pending
  }
  const begin = target.begin?.bind(sql)
  if (begin) {
    target.begin = (...args) => {
      const fn = args[args.length - 1] as (tx: postgres.TransactionSql) => unknown
      args[args.length - 1] = (tx: postgres.TransactionSql) => fn(instrument(tx))
      return begin(...args)
    }
  }
  return sql
}

export const sql = instrument(
  postgres(databaseUrl(), {
    max: config.DATABASE_POOL_MAX,
    idle_timeout: 30,
    connect_timeout: 10,
    max_lifetime: 60 * 30,
    onnotice: () => {},
    connection: { application_name: applicationName },
  }),
)

export const db = drizzle({ client: sql, schema, casing: 'snake_case' })

export type Db = typeof db
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]
/** Services take either the pool or a transaction, so callers can compose them in one tx. */
export type DbOrTx = Db | Tx

/**
 * The postgres.js client under a Drizzle database or transaction, for the statements every order
 * runs. Its tagged templates are prepared once per connection and then cost one round trip;
 * Drizzle 0.45 sends its queries (execute() included) unprepared, and postgres.js then describes
 * each parameterised one before binding it: two round trips, and a parse and plan every time.
 */
export function pgOf(tx: DbOrTx): postgres.TransactionSql {
  return (tx as unknown as { session: { client: postgres.TransactionSql } }).session.client
}

export async function pingDb(timeoutMs = 1000): Promise<boolean> {
  try {
    await withTimeout(sql`select 1`.execute(), timeoutMs)
    return true
  } catch {
    return false
  }
}

export async function poolUsage(): Promise<{ state: string; n: number }[]> {
  return sql<{ state: string; n: number }[]>`
    select coalesce(state, 'unknown') as state, count(*)::int as n
    from pg_stat_activity where application_name = ${applicationName} group by 1`
}

export async function closeDb(): Promise<void> {
  await sql.end({ timeout: 5 })
}
