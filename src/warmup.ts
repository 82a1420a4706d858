// Warm-up before an API process listens (index.ts). A fresh process answers its first few hundred
// requests slowly: JavaScriptCore has not compiled the request path yet, and the pool has no
// Postgres connections. On fresh instances, that is exactly when a flash sale's crowd arrives.
// So, first, open the pool; then send the checkout route requests in-process (app.handle, no
// socket; not rate limited, logged or counted: lib/own-requests.ts) that all end before anything
// is read or written for a user: a signed-in order without an Idempotency-Key (auth, body
// validation, the door stepping aside, 400 problem+json), an invalid one (422 problem+json), and
// /health. It does not reach the gate's own refusal: that needs a sold-out product, and the
// warm-up must not write one.
import type { AnyElysia } from 'elysia'
import { config } from './config'
import { requestContext } from './infra/context'
import { sql } from './infra/db'
import { logger } from './infra/logger'
import { ownRequest } from './lib/own-requests'
import { signAccessToken } from './plugins/auth'

export type WarmUpResult = { requests: number; ms: number; stoppedAt?: { status: number; expected: number } }

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
  // Tokens for a user who does not exist: they never leave this process, and no request below gets
  // as far as looking a user up. A new token each round: at a sale's open, every buyer's first
  // request verifies a token this process has not seen (the verified-token cache only helps from
  // the second), so the verification must be compiled too, not just the cache hit. (Their cache
  // entries stay behind, unreachable by any client, and are the first to go when the cache is full.)
  const userId = Bun.randomUUIDv7()
  const newToken = () => signAccessToken(userId, 'customer')
  const token = await newToken()
  const origin = `http://127.0.0.1:${config.PORT}`
  const order = (body: unknown, bearer = token) =>
    ownRequest(`${origin}/api/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
  const line = { items: [{ productId: Bun.randomUUIDv7(), quantity: 1 }] }
  const expected = [400, 422, 200]
  let requests = 0
  // Each app.handle enters its request's log context; keep that out of the caller's.
  const stoppedAt = await requestContext.run({ requestId: 'warm-up' }, async () => {
    for (let i = 0; i < rounds; i++) {
      const fresh = await newToken()
      const answers = await Promise.all([
        app.handle(order(line, fresh)),
        app.handle(order({ items: [] })),
        app.handle(ownRequest(`${origin}/health`)),
      ])
      for (const [j, res] of answers.entries()) {
        requests++
        await res.arrayBuffer()
        const want = expected[j] as number
        if (res.status !== want) return { status: res.status, expected: want }
      }
    }
    return undefined
  })
  return done(requests, stoppedAt)
}
