// The crowd of a fault sale: concurrent buyers (plain fetch) behind a round-robin "load balancer"
// that a fault can take an instance out of. Each buyer tries to order one unit with a fresh
// Idempotency-Key, retries the SAME key on a lost connection, an `idempotency_in_progress` or a
// 503 (as a careful client would), and pays as soon as it has an order.
export type Route = 'order' | 'pay'

export type Answer = { status: number; code: string | null; ms: number; body: unknown; retryAfter: number | null }

export class Stats {
  /** `${route} ${status} ${code}` → count (network failures: status 0, code = the error's name) */
  readonly answers = new Map<string, number>()
  readonly fiveXx: { route: Route; status: number; code: string | null; at: number }[] = []
  connErrors = 0
  timeouts = 0
  maxMs = 0
  /** order ids a buyer saw a 201 for */
  readonly ordered = new Set<string>()
  /** idempotency keys whose final answer was 409 out_of_stock after an earlier attempt was cut */
  readonly soldOutAfterRetry = new Set<string>()
  paid = 0

  note(route: Route, a: Answer): void {
    const k = `${route} ${a.status} ${a.code ?? ''}`.trim()
    this.answers.set(k, (this.answers.get(k) ?? 0) + 1)
    if (a.status >= 500) this.fiveXx.push({ route, status: a.status, code: a.code, at: Date.now() })
    if (a.status > 0) this.maxMs = Math.max(this.maxMs, a.ms)
  }
}

/** Which API instances the buyers reach; a fault takes one out (the load balancer's health check). */
export class Balancer {
  private i = 0
  constructor(public urls: string[]) {}
  next(): string {
    this.i = (this.i + 1) % this.urls.length
    return this.urls[this.i] as string
  }
}

const TIMEOUT_MS = 30_000

async function call(url: string, path: string, token: string, key: string, body: unknown): Promise<Answer> {
  const t = performance.now()
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'idempotency-key': key, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  })
  const text = await res.text()
  let parsed: unknown = null
  try {
    parsed = JSON.parse(text)
  } catch {}
  const code = (parsed as { code?: string } | null)?.code ?? null
  const ra = Number(res.headers.get('retry-after'))
  return { status: res.status, code, ms: performance.now() - t, body: parsed, retryAfter: Number.isFinite(ra) && ra > 0 ? ra : null }
}

type SaleOpts = {
  balancer: Balancer
  tokens: string[]
  /** buyer i wants productIds[i % n] */
  productIds: string[]
  stats: Stats
  /** no new order attempt after this returns true */
  over: () => boolean
  /** a payment still being retried is given up at this time (ms epoch) */
  payDeadline: () => number
  /** payment method of buyer i (pm_card_flaky makes the charge job retry: work in flight in Redis) */
  method: (i: number) => string
}

/**
 * One request with its key, retried until it gets a final answer: 2xx, or a 4xx other than
 * `idempotency_in_progress`. Lost connections and 503s are retried on the next instance.
 */
async function withRetries(
  o: SaleOpts,
  route: Route,
  path: string,
  token: string,
  body: unknown,
  stop: () => boolean,
): Promise<Answer | null> {
  const key = Bun.randomUUIDv7()
  let cut = false
  for (;;) {
    let a: Answer
    try {
      a = await call(o.balancer.next(), path, token, key, body)
    } catch (err) {
      const name = (err as Error).name
      if (name === 'TimeoutError') o.stats.timeouts++
      else o.stats.connErrors++
      o.stats.note(route, { status: 0, code: name, ms: 0, body: null, retryAfter: null })
      cut = true
      if (stop()) return null
      await Bun.sleep(50)
      continue
    }
    o.stats.note(route, a)
    const retry = a.status >= 500 || (a.status === 409 && a.code === 'idempotency_in_progress')
    if (!retry) {
      if (cut && a.status === 409 && a.code === 'out_of_stock') o.stats.soldOutAfterRetry.add(key)
      return a
    }
    if (stop()) return null
    // Retry-After is honoured up to 1 s: the suite's settle bounds are seconds, not minutes.
    await Bun.sleep(Math.min(1000, (a.retryAfter ?? 0.2) * 1000))
  }
}

async function buyer(o: SaleOpts, i: number): Promise<void> {
  const token = o.tokens[i] as string
  while (!o.over()) {
    const a = await withRetries(
      o,
      'order',
      '/api/v1/orders',
      token,
      { items: [{ productId: o.productIds[i % o.productIds.length], quantity: 1 }] },
      o.over,
    )
    if (a?.status === 201) {
      const orderId = (a.body as { id: string }).id
      o.stats.ordered.add(orderId)
      const p = await withRetries(
        o,
        'pay',
        `/api/v1/orders/${orderId}/pay`,
        token,
        { paymentMethod: o.method(i) },
        () => Date.now() > o.payDeadline(),
      )
      if (p?.status === 202) o.stats.paid++
      return
    }
    // Sold out (or refused): look again a little later, like a buyer pressing refresh.
    await Bun.sleep(100 + Math.random() * 100)
  }
}

/** Runs the crowd until `over()`; resolves when every buyer has stopped (payments settled or given up). */
export function runSale(o: SaleOpts): Promise<void> {
  return Promise.all(o.tokens.map((_, i) => buyer(o, i))).then(() => {})
}
