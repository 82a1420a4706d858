// Redis down (our own redis-server, killed): checkouts are still accepted and scored from the
// Postgres source of truth, marked degraded — the features Redis lost are still counted there.
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { orderRisk, riskRules } from '../db/schema'
import { db } from '../src/infra/db'
import { type ApiProcess, createUser, startApi } from './helpers'
import { type RedisServer, spawnRedis } from './jobs-helpers'
import { productWithStock } from './orders-fixtures'

// The built-in rules (another file of this run may have saved others in the shared database).
beforeAll(async () => {
  await db.delete(riskRules)
})

let redis: RedisServer | null = null
let api: ApiProcess | null = null
afterAll(async () => {
  await api?.stop()
  await redis?.stop()
})

async function checkout(token: string, productId: string, ip: string) {
  const res = await fetch(`${api!.url}/api/v1/orders`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'idempotency-key': crypto.randomUUID(),
      'x-forwarded-for': ip,
    },
    body: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
  })
  return { status: res.status, body: (await res.json()) as { id: string; status: string } }
}

const riskRow = async (orderId: string) => (await db.select().from(orderRisk).where(eq(orderRisk.orderId, orderId)))[0]!

test('Redis killed: orders accepted, scored from Postgres, marked degraded', async () => {
  redis = await spawnRedis()
  // A generous feature timeout: this checks what the fallback computes, not how fast (shared host).
  api = await startApi({ REDIS_URL: redis.url, TRUST_PROXY: 'true', RATE_LIMIT_ENABLED: 'false', RISK_FEATURES_TIMEOUT_MS: '2000' })
  const u = await createUser()
  const p = await productWithStock(50)
  const ip = '198.51.100.23'
  const before = await checkout(u.token, p, ip)
  expect(before.status).toBe(201)
  expect(await riskRow(before.body.id)).toMatchObject({ degraded: false, ip, status: 'none' })

  await redis.stop()
  const outcomes = []
  for (let i = 0; i < 5; i++) outcomes.push(await checkout(u.token, p, ip))
  expect(outcomes.map((o) => o.status)).toEqual([201, 201, 201, 201, 201])
  const last = await riskRow(outcomes[4]!.body.id)
  expect(last.degraded).toBe(true)
  expect(last.reasons.find((r) => r.code === 'degraded_features')?.detail).toContain('features read from Postgres')
  // Six orders in ten minutes, five of them placed while Redis was down: Postgres still counts them.
  expect(last.reasons.map((r) => `${r.code}: ${r.detail}`)).toContainEqual(expect.stringMatching(/^velocity_customer_orders: 6 orders/))
  expect(last.score).toBeGreaterThan(0)
}, 60_000)
