// Warm-up before an API process listens (index.ts). A fresh process answers its first few hundred
// requests slowly: JavaScriptCore has not compiled the request path yet, and the pool has no
// Postgres connections. On fresh instances, that is exactly when a flash sale's crowd arrives.
// So, first, open the pool; then send the checkout route requests in-process (app.handle, no
// socket; not rate limited, logged or counted: lib/own-requests.ts) that all end before anything
// is written to Postgres: a signed-in order without an Idempotency-Key (auth, body validation, the door
// stepping aside, 400 problem+json), an invalid one (422 problem+json), /health, and an order for
// a sold-out product (the door's 409 out_of_stock: what most of a sale's crowd gets). That product
// does not exist: it is a 0-unit gate counter in Redis for the warm-up's duration (skipped when
// Redis is down). Should the door not refuse it, the idempotency step refuses every own request
// (503) before it could claim a key, so the warm-up can never write an order.
import type { AnyElysia } from 'elysia'
import { config } from './config'
import { requestContext } from './infra/context'
import { sql } from './infra/db'
import { logger } from './infra/logger'
import { ownRequest } from './lib/own-requests'
import { warmTokenState } from './modules/auth/token-state'
import { dropSoldOutProbe, forgetProbeRefusals, soldOutProbe } from './modules/inventory/service'
import { signAccessToken } from './plugins/auth'

/** `soldOut`: how many of the sold-out probe's orders the door refused (409) — its path was compiled. */
export type WarmUpResult = { requests: number; soldOut: number; ms: number; stoppedAt?: { status: number; expected: string } }

export async function warmUp(app: AnyElysia, rounds: number): Promise<WarmUpResult> {
  const t0 = performance.now()
  let soldOut = 0
  const done = (requests: number, stoppedAt?: WarmUpResult['stoppedAt']): WarmUpResult => {
    const result = { requests, soldOut, ms: Math.round(performance.now() - t0), stoppedAt }
    if (stoppedAt) logger.warn(result, 'warm-up stopped at an unexpected answer; serving anyway (slower at first, not wrong)')
    else logger.info(result, 'warmed up')
    return result
  }
  if (rounds === 0) return done(0)
  await Promise.all(Array.from({ length: config.DATABASE_POOL_MAX }, () => sql`select 1`.execute())).catch((err) =>
    logger.warn({ err }, 'warm-up: could not open the pool'),
  )
  // Tokens for a user who does not exist: they never leave this process; its token state is put in
  // Redis for the warm-up only (warmTokenState), so the revocation check passes as for a buyer. A new token each round: at a sale's open, every buyer's first
  // request verifies a token this process has not seen (the verified-token cache only helps from
  // the second), so the verification must be compiled too, not just the cache hit. (Their cache
  // entries stay behind, unreachable by any client, and are the first to go when the cache is full.)
  const userId = Bun.randomUUIDv7()
  await warmTokenState(userId, 60_000)
  const newToken = () => signAccessToken(userId, 'customer', 0)
  const token = await newToken()
  const origin = `http://127.0.0.1:${config.PORT}`
  const order = (body: unknown, bearer = token, idempotencyKey?: string) =>
    ownRequest(`${origin}/api/v1/orders`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${bearer}`,
        'content-type': 'application/json',
        ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}),
      },
      body: JSON.stringify(body),
    })
  const line = { items: [{ productId: Bun.randomUUIDv7(), quantity: 1 }] }
  const soldOutId = Bun.randomUUIDv7()
  const soldOutLine = { items: [{ productId: soldOutId, quantity: 1 }] }
  let requests = 0
  let probe = await soldOutProbe(soldOutId, 60)
  // Each app.handle enters its request's log context; keep that out of the caller's.
  const stoppedAt = await requestContext.run({ requestId: 'warm-up' }, async () => {
    for (let i = 0; i < rounds; i++) {
      const fresh = await newToken()
      const expected = probe ? [[400], [422], [200], [409, 503]] : [[400], [422], [200]]
      const answers = await Promise.all([
        app.handle(order(line, fresh)),
        app.handle(order({ items: [] })),
        app.handle(ownRequest(`${origin}/health`)),
        ...(probe ? [app.handle(order(soldOutLine, fresh, `warm-up-${i}`))] : []),
      ])
      for (const [j, res] of answers.entries()) {
        requests++
        await res.arrayBuffer()
        const want = expected[j] as number[]
        if (!want.includes(res.status)) return { status: res.status, expected: want.join(' or ') }
        if (j === 3 && res.status === 409) soldOut++
      }
      // A gate reconcile (the worker's) marks unknown products "not sold": the door then steps
      // aside and the probe ends in the idempotency step's 503 (nothing written). Accepted; the
      // probe is installed again for the next round.
      if (answers[3]?.status === 503) probe = await soldOutProbe(soldOutId, 60)
    }
    return undefined
  })
  await dropSoldOutProbe(soldOutId)
  // The probe's refusals were counted as a sale's: no client has been answered yet, start at zero.
  forgetProbeRefusals()
  return done(requests, stoppedAt)
}
