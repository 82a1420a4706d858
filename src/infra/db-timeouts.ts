// Bounds every wait on Postgres, so a database in trouble (a held lock, an exhausted pool) costs a
// request seconds and a 503 with Retry-After, not a hang. Three bounds, each where it can be kept:
// - a running statement: Postgres itself (statement_timeout, lock_timeout on every pool connection);
// - the wait for a pooled connection: DATABASE_ACQUIRE_TIMEOUT_MS here (postgres.js 3.4 has no
//   acquire timeout: a query queues until a connection frees, however long that takes);
// - a request: its deadline (REQUEST_TIMEOUT_MS, stamped by the http plugin) cancels whatever of
//   its statements are still waiting or running, and refuses to start new ones.
// Cancelling uses postgres.js's own query.cancel(): a query still in the pool's queue is removed
// and never runs; one already sent is cancelled by Postgres (its transaction rolls back).
import { config } from '../config'
import { AppError } from '../lib/errors'
import { requestContext } from './context'
import { counter } from './metrics'

export type BusyReason = 'pool' | 'deadline' | 'statement_timeout' | 'lock_timeout'

const busyTotal = counter('db_busy_total', 'Statements refused or cancelled because Postgres was too slow to answer', ['reason'])

const DETAIL: Record<BusyReason, string> = {
  pool: 'No database connection became free in time',
  deadline: 'The request ran out of time waiting for the database',
  statement_timeout: 'A database statement took too long',
  lock_timeout: 'A database lock was held for too long',
}

/** 503: the database is up but cannot answer in time; retrying shortly is safe. */
export class DatabaseBusyError extends AppError {
  constructor(
    readonly reason: BusyReason,
    cause?: unknown,
  ) {
    super(503, 'database_busy', 'Service Unavailable', DETAIL[reason], { reason }, { 'retry-after': '1' })
    if (cause !== undefined) this.cause = cause
  }
}

/** Milliseconds left before the current request's deadline (Infinity outside a request). */
export function deadlineLeft(): number {
  const deadline = requestContext.getStore()?.deadline
  return deadline === undefined ? Number.POSITIVE_INFINITY : deadline - performance.now()
}

function acquireLimit(pooled: boolean): number {
  return pooled && config.DATABASE_ACQUIRE_TIMEOUT_MS > 0 ? config.DATABASE_ACQUIRE_TIMEOUT_MS : Number.POSITIVE_INFINITY
}

/** The error a failed statement surfaces as: a timeout of any kind becomes DatabaseBusyError. */
export function busyError(err: unknown, reason: BusyReason | undefined): unknown {
  if (err instanceof DatabaseBusyError) return err
  const code = (err as { code?: unknown } | null)?.code
  const why = reason ?? (code === '57014' ? 'statement_timeout' : code === '55P03' ? 'lock_timeout' : undefined)
  if (!why) return err
  busyTotal.inc({ reason: why })
  return new DatabaseBusyError(why, err)
}

/** A refusal before anything was sent: the request's deadline has already passed. */
export function refuseIfLate(): DatabaseBusyError | null {
  if (deadlineLeft() > 0) return null
  busyTotal.inc({ reason: 'deadline' })
  return new DatabaseBusyError('deadline')
}

type Cancellable = { active?: boolean; cancel: () => unknown }
export type QueryGuard = { reason: BusyReason | undefined; done: () => void }

/**
 * Watches one sent query: cancels it when it has waited DATABASE_ACQUIRE_TIMEOUT_MS without a
 * connection (`pooled`: not inside a transaction, which already holds one), or when the request's
 * deadline passes, waiting or running. Null when neither bound applies (no timer on that path).
 */
export function guardQuery(query: Cancellable, pooled: boolean): QueryGuard | null {
  const left = deadlineLeft()
  const acquire = acquireLimit(pooled)
  if (left === Number.POSITIVE_INFINITY && acquire === Number.POSITIVE_INFINITY) return null
  const deadline = performance.now() + left
  const guard: QueryGuard = { reason: undefined, done: () => clearTimeout(timer) }
  const fire = () => {
    const now = performance.now()
    const late = now >= deadline - 1
    if (late || !query.active) {
      guard.reason = late ? 'deadline' : 'pool'
      // A cancel request for a running query may fail (Postgres gone): the query fails on its own.
      Promise.resolve(query.cancel()).catch(() => {})
    } else if (deadline !== Number.POSITIVE_INFINITY) {
      timer = setTimeout(fire, deadline - now)
    }
  }
  let timer = setTimeout(fire, Math.max(0, Math.min(left, acquire)))
  return guard
}

/**
 * Bounds the wait for a transaction's connection. postgres.js gives no handle on the BEGIN it
 * queues, so a transaction that gets its connection after the caller was told 503 runs no part
 * of its body: `enter` throws and postgres.js rolls back.
 */
export function guardTransaction<T>(open: (enter: () => void) => Promise<T>): Promise<T> {
  const late = refuseIfLate()
  if (late) return Promise.reject(late)
  const limit = Math.min(deadlineLeft(), acquireLimit(true))
  let entered = false
  let abandoned: DatabaseBusyError | undefined
  const enter = () => {
    if (abandoned) throw abandoned
    entered = true
  }
  const opened = open(enter)
  if (limit === Number.POSITIVE_INFINITY) return opened
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => {
        if (entered) return
        abandoned = new DatabaseBusyError(limit < acquireLimit(true) ? 'deadline' : 'pool')
        busyTotal.inc({ reason: abandoned.reason })
        reject(abandoned)
      },
      Math.max(0, limit),
    )
    opened.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e) => {
        clearTimeout(timer)
        if (e !== abandoned) reject(e)
      },
    )
  })
}
