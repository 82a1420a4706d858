// An API process killed (SIGKILL) while it holds units it took at the checkout door — admitted by
// the Redis gate, not yet written to Postgres — must not strand them: each admission is a lease
// that expires, and the buyers refused afterwards reclaim expired leases, so every unit is sold to
// a later buyer within seconds, without the scheduled reconcile.
//
// Deterministic: API A reaches Postgres through a TCP proxy that the test holds, so A's admitted
// requests wait for Postgres with their units taken; A is killed while they wait, and the proxy
// drops their connections (nothing A sent ever reaches Postgres).
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Socket } from 'bun'
import Redis from 'ioredis'
import { checkInventory } from '../scripts/inventory-check'
import { sql } from '../src/infra/db'
import { key, redisUsable } from '../src/infra/redis'
import { admitAtTheDoor, reconcileGate, returnGateTicket } from '../src/modules/inventory/service'
import { claimedMarker } from '../src/plugins/idempotency'
import { type ApiProcess, buy, createUser, type Outcome, startApi } from './helpers'
import { productWithStock, stock } from './inventory-fixtures'

const STOCK = 30
const HELD_BY_A = 10
const LEASE_MS = 1500
const POOL = { DATABASE_POOL_MAX: '4', INVENTORY_STRATEGY: 'gated', INVENTORY_GATE_LEASE_MS: String(LEASE_MS) }

type Pipe = { client: Socket<Pipe>; upstream: Socket<undefined> | null; pending: Uint8Array[] }

/** A TCP proxy to Postgres whose client → server direction can be held (buffered) and dropped. */
function pgProxy(target: URL) {
  let held = false
  const pipes = new Set<Pipe>()
  const server = Bun.listen<Pipe>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      async open(client) {
        const pipe: Pipe = { client, upstream: null, pending: [] }
        client.data = pipe
        pipes.add(pipe)
        pipe.upstream = await Bun.connect({
          hostname: target.hostname,
          port: Number(target.port || 5432),
          socket: {
            data: (_s, d) => void client.write(d),
            close: () => void client.end(),
            error: () => void client.end(),
          },
        })
        if (!held) for (const d of pipe.pending.splice(0)) pipe.upstream.write(d)
      },
      data(client, d) {
        const pipe = client.data
        if (held || !pipe.upstream) pipe.pending.push(new Uint8Array(d))
        else pipe.upstream.write(d)
      },
      close(client) {
        client.data.upstream?.end()
        pipes.delete(client.data)
      },
    },
  })
  const url = new URL(target)
  url.hostname = '127.0.0.1'
  url.port = String(server.port)
  return {
    url: url.toString(),
    hold: () => {
      held = true
    },
    /** Closes every connection without forwarding what was held. */
    drop: () => {
      for (const p of pipes) {
        p.pending = []
        p.upstream?.terminate()
        p.client.terminate()
      }
      pipes.clear()
      server.stop(true)
    },
  }
}

let tokens: string[] = []
const started: ApiProcess[] = []
const rc = new Redis(process.env.REDIS_URL as string)
beforeAll(async () => {
  tokens = (await Promise.all(Array.from({ length: 300 }, () => createUser('customer')))).map((u) => u.token)
}, 90_000)
afterAll(async () => {
  rc.disconnect()
  for (const a of started) if (a.proc.exitCode === null && !a.proc.killed) await a.stop()
})

const sold = async (productId: string) =>
  (await sql<{ n: number }[]>`select count(*)::int as n from order_items where product_id = ${productId}`)[0]?.n ?? 0
const gateUnits = async (productId: string) => Number(await rc.hget(key('gate', productId), 'a'))

test('API killed while holding admitted units → later buyers get every unit (sold == stock)', async () => {
  const productId = await productWithStock(STOCK)
  const proxy = pgProxy(new URL(process.env.DATABASE_URL as string))
  const [a, b] = await Promise.all([startApi({ ...POOL, DATABASE_URL: proxy.url }), startApi(POOL)])
  started.push(a as ApiProcess, b as ApiProcess)
  const apiA = a as ApiProcess
  const apiB = b as ApiProcess
  // startApi gives up waiting after 10 s; a busy machine can take longer to boot (the warm-up).
  for (const api of [apiA, apiB]) {
    for (
      let i = 0;
      i < 300 &&
      !(await fetch(`${api.url}/health`).then(
        (r) => r.ok,
        () => false,
      ));
      i++
    )
      await Bun.sleep(100)
  }
  let next = 0
  const outcomes: Outcome[] = []
  try {
    // The first sale loads the gate's counter.
    outcomes.push(await buy(apiB.url, tokens[next++] as string, productId))
    expect(outcomes[0]?.status).toBe(201)
    expect(await gateUnits(productId)).toBe(STOCK - 1)

    // A learns its buyers' token state first (authentication reads it from Postgres on a miss), so
    // that with the proxy held they get as far as the gate.
    for (const t of tokens.slice(next, next + HELD_BY_A))
      expect((await fetch(`${apiA.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${t}` } })).status).toBe(200)
    // A admits HELD_BY_A buyers (units taken from the gate), who then wait for Postgres.
    proxy.hold()
    const heldByA = Array.from({ length: HELD_BY_A }, () => buy(apiA.url, tokens[next++] as string, productId).catch(() => null))
    for (let i = 0; i < 200 && (await gateUnits(productId)) > STOCK - 1 - HELD_BY_A; i++) await Bun.sleep(20)
    expect(await gateUnits(productId)).toBe(STOCK - 1 - HELD_BY_A)

    // A crowd at B is in flight when A dies.
    const crowd = Array.from({ length: 60 }, () => buy(apiB.url, tokens[next++] as string, productId))
    apiA.proc.kill('SIGKILL')
    await apiA.proc.exited
    proxy.drop()
    expect((await Promise.all(heldByA)).filter((o) => o?.status === 201)).toEqual([])
    outcomes.push(...(await Promise.all(crowd)))
    expect(await sold(productId)).toBe(STOCK - HELD_BY_A) // B sold all that the gate had left

    // Later buyers keep coming: A's units come back once their leases expire.
    const killedAt = Date.now()
    while ((await sold(productId)) < STOCK && Date.now() - killedAt < LEASE_MS + 12_000 && next + 5 <= tokens.length) {
      outcomes.push(...(await Promise.all(Array.from({ length: 5 }, () => buy(apiB.url, tokens[next++] as string, productId)))))
      await Bun.sleep(50)
    }
    const allSoldAfter = Date.now() - killedAt
    expect(outcomes.filter((o) => o.status >= 500)).toEqual([])
    expect(outcomes.filter((o) => o.status !== 201 && !(o.status === 409 && o.code === 'out_of_stock'))).toEqual([])
    expect(await sold(productId)).toBe(STOCK)
    expect(allSoldAfter).toBeLessThan(LEASE_MS + 5000) // "within a few seconds", on a busy machine
    expect(outcomes.filter((o) => o.status === 201).length).toBe(STOCK)
    expect(await stock(productId)).toEqual({ onHand: STOCK, reserved: STOCK })
    expect(await gateUnits(productId)).toBe(0)
    expect((await checkInventory(sql)).mismatches.filter((m) => m.productId === productId)).toEqual([])
  } finally {
    proxy.drop()
    if (apiA.proc.exitCode === null) apiA.proc.kill('SIGKILL')
    await apiB.stop()
  }
}, 90_000)

// In-process: the lease's edge cases, with the lease's expiry moved to the past by hand.
const marker = () => claimedMarker(Bun.randomUUIDv7(), `k-${Bun.randomUUIDv7()}`)
const expireLeases = async (productId: string) => {
  const members = await rc.zrange(key('gate-leases', productId), 0, -1)
  for (const m of members) await rc.zadd(key('gate-leases', productId), 'XX', 0, m)
  return members.length
}
async function admit(productId: string) {
  for (let i = 0; i < 100 && !redisUsable(); i++) await Bun.sleep(20)
  return admitAtTheDoor([{ productId, quantity: 1 }], marker(), 'gated')
}

test('a reclaimed lease gives its units back once: the slow holder giving back afterwards adds nothing', async () => {
  const productId = await productWithStock(1)
  const slow = await admit(productId)
  expect(slow).not.toBeNull()
  expect(await gateUnits(productId)).toBe(0)
  expect(await expireLeases(productId)).toBe(1)
  // The next buyer finds the counter short, reclaims the expired lease and is admitted.
  const next = await admit(productId)
  expect(next).not.toBeNull()
  expect(await gateUnits(productId)).toBe(0)
  await returnGateTicket(slow!) // the slow holder's write failed after all: its lease is gone
  expect(await gateUnits(productId)).toBe(0)
  await returnGateTicket(next!)
  expect(await gateUnits(productId)).toBe(1)
  expect(await rc.zcard(key('gate-leases', productId))).toBe(0)
})

test('a lease that has not expired is not reclaimed: the crowd is refused meanwhile', async () => {
  const productId = await productWithStock(1)
  const holder = await admit(productId)
  expect(holder).not.toBeNull()
  await expect(admit(productId)).rejects.toMatchObject({ code: 'out_of_stock' })
  expect(await rc.zcard(key('gate-leases', productId))).toBe(1)
  await returnGateTicket(holder!)
  expect(await gateUnits(productId)).toBe(1)
})

test('a counter loaded from Postgres drops the leases (the truth already counts their units): no double count', async () => {
  const productId = await productWithStock(2)
  const t = await admit(productId)
  expect(await gateUnits(productId)).toBe(1)
  await reconcileGate() // force-reload: 2 available in Postgres (the ticket never wrote)
  expect(await gateUnits(productId)).toBe(2)
  expect(await rc.exists(key('gate-leases', productId))).toBe(0)
  await returnGateTicket(t!)
  expect(await gateUnits(productId)).toBe(2)
})
