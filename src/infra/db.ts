// postgres.js pool + Drizzle. Slow statements are logged; pool usage is read from
// pg_stat_activity by application_name when /metrics is scraped.
import { drizzle } from 'drizzle-orm/postgres-js'
import postgres from 'postgres'
import * as schema from '../../db/schema'
import { config } from '../config'
import { logger } from './logger'
import { counter } from './metrics'

const slowQueries = counter('db_slow_queries_total', 'Statements slower than SLOW_QUERY_MS')

export const applicationName = `stampede-${config.ROLE}-${process.pid}`

function databaseUrl(): string {
  if (!config.DATABASE_URL) throw new Error('DATABASE_URL was not resolved before the database was opened')
  return config.DATABASE_URL
}

type Sql = postgres.Sql

/** Wraps `unsafe` (what Drizzle calls) so statements slower than SLOW_QUERY_MS are logged. */
const instrumented = new WeakSet<object>()
function instrument<T extends Sql | postgres.TransactionSql>(sql: T): T {
  if (instrumented.has(sql)) return sql
  instrumented.add(sql)
  const unsafe = sql.unsafe.bind(sql)
  // biome-ignore lint/suspicious/noExplicitAny: postgres.js PendingQuery is generic over rows
  ;(sql as any).unsafe = (query: string, params?: any[], opts?: any) => {
    const pending = unsafe(query, params, opts)
    if (instrumented.has(pending)) return pending
    instrumented.add(pending)
    const then = pending.then.bind(pending)
    // Timing starts when the query is awaited, which is when postgres.js sends it.
    // biome-ignore lint/suspicious/noThenProperty: deliberately wrapping the thenable
    let timed = false
    ;(pending as any).then = (ok: any, fail: any) => {
      const t0 = performance.now()
      // A query may be awaited more than once (Drizzle does inside transactions): time it once.
      const first = !timed
      timed = true
      const done = () => {
        if (!first) return
        const ms = performance.now() - t0
        if (ms > config.SLOW_QUERY_MS) {
          slowQueries.inc()
          logger.warn({ ms: Math.round(ms), query: query.slice(0, 500) }, 'slow query')
        }
      }
      return then(
        (v: unknown) => {
          done()
          return ok ? ok(v) : v
        },
        (e: unknown) => {
          done()
          if (fail) return fail(e)
          throw e
        },
      )
    }
    return pending
  }
  // biome-ignore lint/suspicious/noExplicitAny: begin exists on the root Sql only
  const begin = (sql as any).begin?.bind(sql)
  if (begin) {
    // biome-ignore lint/suspicious/noExplicitAny: overloads of begin
    ;(sql as any).begin = (...args: any[]) => {
      const fn = args[args.length - 1]
      args[args.length - 1] = (tx: postgres.TransactionSql) => fn(instrument(tx))
      return begin(...(args as [never]))
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

export async function pingDb(timeoutMs = 1000): Promise<boolean> {
  try {
    await Promise.race([sql`select 1`, Bun.sleep(timeoutMs).then(() => Promise.reject(new Error('timeout')))])
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
