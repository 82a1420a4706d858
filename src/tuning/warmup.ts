// Warm-up before an API process listens (WARMUP_ROUNDS). A fresh process answers its first
// requests slowly: JavaScriptCore has not compiled the request path yet, and the pool has no
// Postgres connections. On fresh instances, that is exactly when a flash sale's crowd arrives.
// Measured (bench/warmup-ab.ts, same run, 4 processes each way, loaded 2-core box): the first
// checkout after boot takes 149 ms cold and 6.4 ms warmed (medians).
// So, first, open the pool; then send requests in-process (app.handle, no socket) that all end
// before anything is written: a signed-in order without an Idempotency-Key (auth, body validation,
// 400 problem+json), an invalid one (422 problem+json) and /health. They go through every plugin
// like a client's: each round is a made-up user of its own (2 writes, under any sane write limit),
// request log lines are off meanwhile, and the HTTP histogram starts at zero when it ends.
import type { AnyElysia } from 'elysia'
import { config } from '../config'
import { requestContext } from '../infra/context'
import { sql } from '../infra/db'
import { logger } from '../infra/logger'
import { httpDuration } from '../infra/metrics'
import { warmTokenState } from '../modules/auth/token-state'
import { signAccessToken } from '../plugins/auth'

export type WarmUpResult = { requests: number; ms: number; stoppedAt?: { status: number; expected: string } }

const EXPECTED = [400, 422, 200]

export async function warmUp(app: AnyElysia, rounds: number): Promise<WarmUpResult> {
  const t0 = performance.now()
  const done = (requests: number, stoppedAt?: WarmUpResult['stoppedAt']): WarmUpResult => {
    const result = { requests, ms: Math.round(performance.now() - t0), stoppedAt }
    if (stoppedAt) logger.warn(result, 'warm-up stopped at an unexpected answer; serving anyway (slower at first, not wrong)')
    else logger.info(result, 'warmed up')
    return result
  }
  if (rounds === 0) return done(0)
  await Promise.all(Array.from({ length: config.DATABASE_POOL_MAX }, () => sql`select 1`.execute())).catch((err) =>
    logger.warn({ err }, 'warm-up: could not open the pool'),
  )
  const origin = `http://127.0.0.1:${config.PORT}`
  const line = { items: [{ productId: Bun.randomUUIDv7(), quantity: 1 }] }
  const order = (body: unknown, token: string) =>
    new Request(`${origin}/api/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  let requests = 0
  const level = logger.level
  if (logger.isLevelEnabled('info')) logger.level = 'warn' // no request log lines: no client was answered
  let stoppedAt: WarmUpResult['stoppedAt']
  try {
    // Each app.handle enters its request's log context; keep that out of the caller's.
    stoppedAt = await requestContext.run({ requestId: 'warm-up' }, async () => {
      for (let i = 0; i < rounds; i++) {
        // A user who exists only here: its token state is in Redis for a minute (warmTokenState),
        // so the revocation check passes as for a buyer. A new token each round: at a sale's open,
        // every buyer's first request verifies a token this process has not seen, so the
        // verification must be compiled too, not only the verified-token cache hit.
        const userId = Bun.randomUUIDv7()
        await warmTokenState(userId, 60_000)
        const token = await signAccessToken(userId, 'customer', 0)
        const answers = await Promise.all([
          app.handle(order(line, token)),
          app.handle(order({ items: [] }, token)),
          app.handle(new Request(`${origin}/health`)),
        ])
        for (const [j, res] of answers.entries()) {
          requests++
          await res.arrayBuffer()
          if (res.status !== EXPECTED[j]) return { status: res.status, expected: String(EXPECTED[j]) }
        }
      }
      return undefined
    })
    // Elysia runs afterResponse hooks (the request log line, the histogram sample) in a
    // setImmediate queued by each request; one more turn of that queue runs after all of them.
    await new Promise((ok) => setImmediate(ok))
  } finally {
    logger.level = level
    // Nothing has been served yet: the request histogram starts with the first client.
    httpDuration.reset()
  }
  return done(requests, stoppedAt)
}
