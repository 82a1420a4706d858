// The faults the suite injects mid-sale, and the guarantees each row is held to. A fault's
// `inject` returns once the fault is over (the component is back, or the hold released); its
// `after` puts the cluster back as the next fault expects it.
import type postgres from 'postgres'
import type { Balancer, Route } from './buyers'
import type { OwnRedis, Proc } from './cluster'

export type FaultId = 'none' | 'redis-kill' | 'redis-empty' | 'api-kill' | 'worker-kill' | 'pool-exhaustion'

export type Probe = { path: string; status: number; ms: number }

export type FaultCtx = {
  sql: postgres.Sql
  redis: OwnRedis
  apis: [Proc, Proc]
  worker: Proc
  balancer: Balancer
  /** the sale's products (one, but for the pool fault) */
  productIds: string[]
  /** a third API process with DATABASE_POOL_MAX=2, started for the pool fault */
  smallPool: () => Proc
  /** how long Redis stays down, and how long the pool fault holds its lock (ms) */
  downMs: number
  holdMs: number
  probes: Probe[]
  /** set by `holdStockRow` in `before`: ends the hold */
  release?: () => Promise<void>
}

/**
 * Locks the product's stock row from another session (`SELECT … FOR UPDATE` in an open
 * transaction) until `c.release()`. Admitted checkouts then wait on Postgres with their units
 * taken from the gate: the window a kill must hit, made wide and certain instead of lucky.
 */
async function holdStockRow(c: FaultCtx): Promise<void> {
  const conn = await c.sql.reserve()
  await conn`begin`
  await conn`select 1 from inventory where product_id in ${c.sql(c.productIds)} order by product_id for update`
  c.release = async () => {
    await conn`commit`
    conn.release()
  }
}

/** The sale's state, polled every few ms until the fault's moment comes. */
export type Progress = {
  sold: number
  pendingPayments: number
  /** pending payments that failed a try: their charge job waits in Redis for its retry */
  retrying: number
  /** confirmations whose event was published (the job is in Redis) but not delivered yet */
  queuedEmails: number
  /** `out_of_stock` answers the buyers got so far */
  refused: number
  /** buyers in the crowd */
  buyers: number
  ms: number
}

export type Fault = {
  id: FaultId
  what: string
  /**
   * The moment to strike: the crowd arrives at once (the opening burst of a flash sale), so most
   * units are taken in the first few hundred ms and the in-flight work is there.
   */
  when: (p: Progress, stock: number) => boolean
  /** products on sale at once (each with the suite's stock), default 1 */
  products?: number
  /** 503s that are this fault's designed answer (not counted as 5xx) */
  allow503?: (route: Route) => boolean
  before?: (c: FaultCtx) => Promise<void>
  inject: (c: FaultCtx) => Promise<void>
  after?: (c: FaultCtx) => Promise<void>
}

/** GETs (and a failing login) against the small-pool instance while its pool is exhausted. */
async function probe(url: string, out: Probe[]): Promise<void> {
  const paths: [string, RequestInit?][] = [
    ['/health'],
    ['/ready'],
    ['/metrics'],
    [`/api/v1/products?q=probe${Math.random().toString(36).slice(2, 7)}`],
    [
      '/api/v1/auth/login',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'nobody@faults.test', password: 'Wrong-password-1' }),
      },
    ],
  ]
  await Promise.all(
    paths.map(async ([path, init]) => {
      const t = performance.now()
      const status = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(30_000) }).then(
        async (r) => {
          await r.arrayBuffer()
          return r.status
        },
        () => 0,
      )
      out.push({ path: path.replace(/\?.*/, ''), status, ms: Math.round(performance.now() - t) })
    }),
  )
}

const inRedis = (p: Progress, stock: number) => p.sold >= stock / 2 && p.retrying >= 1 && p.queuedEmails >= 1

export const FAULTS: Fault[] = [
  { id: 'none', what: 'no fault (control)', when: () => true, inject: async () => {} },
  {
    id: 'redis-kill',
    what: 'redis-server kill -9, restarted with its data (AOF)',
    // POST /pay answers 503 while the payment queue is unreachable: nothing was charged, retry.
    allow503: (route) => route === 'pay',
    // Work waiting in Redis: charge retries (the flaky card) and emails (the slow SMTP).
    when: inRedis,
    inject: async (c) => {
      await c.redis.kill()
      await Bun.sleep(c.downMs)
      await c.redis.start()
    },
  },
  {
    id: 'redis-empty',
    what: 'redis-server kill -9, restarted EMPTY (data lost)',
    allow503: (route) => route === 'pay',
    when: inRedis,
    inject: async (c) => {
      await c.redis.kill()
      await Bun.sleep(c.downMs)
      await c.redis.start({ empty: true })
    },
  },
  {
    id: 'api-kill',
    what: 'kill -9 of the API that admitted the opening burst (waiting on Postgres); buyers go on through the other',
    // The opening burst reaches one instance (as a balancer may send it), is admitted at its door
    // and waits on the held stock row; that instance dies. Every unit is then in flight there, so
    // the row reads the same on every run: 0 sold until the units come back.
    before: async (c) => {
      c.balancer.urls = [c.apis[1].url]
      await holdStockRow(c)
    },
    // Struck once the door has answered the whole burst: every unit is then admitted and waiting.
    when: (p, stock) => p.refused >= p.buyers - stock,
    inject: async (c) => {
      await c.apis[1].kill()
      c.balancer.urls = [c.apis[0].url]
      await c.release?.()
    },
    after: async (c) => {
      await c.apis[1].start()
      c.balancer.urls = c.apis.map((a) => a.url)
    },
  },
  {
    id: 'worker-kill',
    what: 'the worker kill -9 mid-job (emails on a slow SMTP, charges in flight), restarted',
    when: (p) => p.pendingPayments >= 2,
    inject: async (c) => {
      await c.worker.kill()
      await Bun.sleep(c.downMs)
      await c.worker.start()
    },
  },
  {
    id: 'pool-exhaustion',
    what: 'the stock rows of 3 products locked by another session for holdMs; one API has DATABASE_POOL_MAX=2',
    // The designed answer of a saturated pool: 503 + Retry-After, quickly.
    allow503: () => true,
    // Three products, so three group-commit batches (one per product) of the small-pool instance
    // wait on the held rows at once: more than its 2 connections.
    products: 3,
    before: async (c) => {
      await c.smallPool().start()
      c.balancer.urls = [c.apis[0].url, c.smallPool().url]
      await holdStockRow(c)
    },
    // The held row is the fault: it is in place before the crowd arrives; probe while it lasts.
    when: () => true,
    inject: async (c) => {
      const probes: Promise<void>[] = []
      for (let t = 0; t < c.holdMs; t += 1000) {
        await Bun.sleep(Math.min(1000, c.holdMs - t))
        if (t + 1000 < c.holdMs) probes.push(probe(c.smallPool().url, c.probes))
      }
      await c.release?.()
      await Promise.all(probes)
    },
    after: async (c) => {
      await c.smallPool().stop()
      c.balancer.urls = c.apis.map((a) => a.url)
    },
  },
]

export type Row = {
  fault: FaultId
  stock: number
  sold: number
  /** 5xx answers not allowed for this fault */
  fiveXx: number
  /** 503s that are the fault's designed answer */
  allowed503: number
  connErrors: number
  timeouts: number
  maxMs: number
  lostEmails: number
  lostPayments: number
  /** emails the SMTP server accepted more than once */
  dupEmails: number
  ledgerMismatches: number
  /** slowest probe of the small-pool instance during the hold (pool fault only) */
  probeMaxMs: number | null
  settleMs: number
  [detail: string]: unknown
}

export type Guarantee = {
  id: string
  what: string
  applies: (r: Row) => boolean
  holds: (r: Row) => boolean
}

/**
 * A pool-exhaustion request may take this long at most before its 503 (or answer): the request
 * deadline (REQUEST_TIMEOUT_MS, 5 s by default; most answer after the 2 s pool-acquire timeout)
 * plus 1 s for a loaded CI box. Before the timeouts existed these requests hung 8–24 s.
 */
export const POOL_PROBE_LIMIT_MS = 6000

export const GUARANTEES: Guarantee[] = [
  { id: 'no-oversell', what: 'sold ≤ stock', applies: () => true, holds: (r) => r.sold <= r.stock },
  { id: 'no-5xx', what: 'no 5xx but the fault’s designed 503s', applies: () => true, holds: (r) => r.fiveXx === 0 },
  {
    id: 'no-lost-email',
    what: 'every order’s confirmation and receipt in mail_log',
    applies: () => true,
    holds: (r) => r.lostEmails === 0,
  },
  {
    id: 'no-duplicate-email',
    what: 'no email accepted twice by SMTP (a killed worker may resend: the documented window)',
    applies: (r) => r.fault !== 'worker-kill',
    holds: (r) => r.dupEmails === 0,
  },
  {
    id: 'no-lost-payment',
    what: 'no payment stuck pending, paid without a charge, or charged twice',
    applies: () => true,
    holds: (r) => r.lostPayments === 0,
  },
  { id: 'ledger-clean', what: 'inventory:check finds no mismatch', applies: () => true, holds: (r) => r.ledgerMismatches === 0 },
  {
    id: 'all-sold',
    what: 'every unit sold (none stranded) while buyers still want it',
    applies: (r) => r.fault !== 'api-kill',
    holds: (r) => r.sold === r.stock,
  },
  {
    id: 'all-sold-after-api-kill',
    what: 'units admitted by the killed API come back and sell',
    applies: (r) => r.fault === 'api-kill',
    holds: (r) => r.sold === r.stock,
  },
  {
    id: 'pool-fast-answers',
    what: `with the pool exhausted every probe answers within ${POOL_PROBE_LIMIT_MS} ms`,
    applies: (r) => r.fault === 'pool-exhaustion',
    holds: (r) => (r.probeMaxMs ?? 0) <= POOL_PROBE_LIMIT_MS && r.maxMs <= POOL_PROBE_LIMIT_MS,
  },
]

/** The guarantees a row breaks, enforced or not. */
export function broken(r: Row): Guarantee[] {
  return GUARANTEES.filter((g) => g.applies(r) && !g.holds(r))
}
