// Live feeds across two real API processes: an admin WebSocket on instance A receives the order
// events instance B publishes (B places the order and runs the outbox relay and the analytics job),
// replays what it missed after reconnecting with ?since=, and bad or reused tickets are refused
// with 401 before the upgrade. The public sale feed coalesces a burst to ≤ 4 messages a second.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { publishSaleStatus } from '../src/modules/live'
import { p99FromBuckets } from '../src/modules/live/tick'
import { type ApiProcess, createUser, startApi } from './helpers'
import { waitFor } from './jobs-helpers'
import { productWithStock } from './orders-fixtures'
import { createSale, openNow, saleOrder } from './sales-fixtures'

type Msg = { seq: number; type: string; at: string; data: Record<string, unknown> }
let a: ApiProcess
let b: ApiProcess
let admin: Awaited<ReturnType<typeof createUser>>
let buyer: Awaited<ReturnType<typeof createUser>>

beforeAll(async () => {
  // A serves WebSockets only; B also runs the workers (outbox relay, analytics job).
  ;[a, b] = await Promise.all([
    startApi({ ROLE: 'api', LIVE_TICK_MS: '1000', WARMUP_ROUNDS: '0' }),
    startApi({ ROLE: 'all', OUTBOX_POLL_MS: '50', WARMUP_ROUNDS: '0' }),
  ])
  // startApi gives up waiting after 10 s; on a loaded machine a boot can take longer.
  for (const p of [a, b])
    await waitFor(`${p.url} to answer /health`, async () => (await fetch(`${p.url}/health`).catch(() => null))?.ok, 60_000)
  admin = await createUser('admin')
  buyer = await createUser('customer')
}, 120_000)
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
})

async function ticket(url: string, token = admin.token): Promise<Response> {
  return fetch(`${url}/api/v1/admin/live/ticket`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
}

/** A WebSocket client that records every message and can wait for one matching a predicate. */
function client(url: string) {
  const ws = new WebSocket(url)
  const messages: Msg[] = []
  const waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = []
  ws.onmessage = (e) => {
    const m = JSON.parse(String(e.data)) as Msg
    messages.push(m)
    for (const w of [...waiters])
      if (w.pred(m)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(m)
      }
  }
  const opened = new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve()
    ws.onerror = () => reject(new Error('websocket failed to open'))
  })
  const next = (pred: (m: Msg) => boolean, ms = 15_000) =>
    new Promise<Msg>((resolve, reject) => {
      const hit = messages.find(pred)
      if (hit) return resolve(hit)
      const timer = setTimeout(() => reject(new Error(`no matching message in ${ms} ms; got ${messages.map((m) => m.type).join(',')}`)), ms)
      waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer)
          resolve(m)
        },
      })
    })
  const close = () =>
    new Promise<void>((resolve) => {
      ws.onclose = () => resolve()
      ws.close()
    })
  return { ws, messages, opened, next, close }
}

async function placeOrderOn(url: string, productId: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${buyer.token}`, 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
    body: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
  })
  expect(res.status).toBe(201)
  return ((await res.json()) as { id: string }).id
}

const upgradeHeaders = {
  connection: 'Upgrade',
  upgrade: 'websocket',
  'sec-websocket-version': '13',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
}

describe('admin live feed', () => {
  test('tickets: admins only; a bad, missing or reused ticket is a 401 problem before the upgrade', async () => {
    expect((await ticket(a.url, buyer.token)).status).toBe(403)
    expect((await fetch(`${a.url}/api/v1/admin/live/ticket`, { method: 'POST' })).status).toBe(401)
    for (const q of ['', '?ticket=bogus', `?ticket=${'x'.repeat(32)}`]) {
      const res = await fetch(`${a.url}/api/v1/admin/live${q}`, { headers: upgradeHeaders })
      expect(res.status).toBe(401)
      expect(res.headers.get('content-type')).toContain('application/problem+json')
      expect(res.headers.get('upgrade')).toBeNull()
    }
    const t = ((await (await ticket(a.url)).json()) as { ticket: string }).ticket
    const c = client(`${a.url.replace('http', 'ws')}/api/v1/admin/live?ticket=${t}`)
    await c.opened
    await c.next((m) => m.type === 'hello')
    await c.close()
    const again = await fetch(`${a.url}/api/v1/admin/live?ticket=${t}`, { headers: upgradeHeaders })
    expect(again.status).toBe(401) // single use
  })

  test('an order placed on instance B reaches a client of instance A; a reconnect with ?since= replays what it missed', async () => {
    const productId = await productWithStock(100, 1)
    const t1 = ((await (await ticket(a.url)).json()) as { ticket: string }).ticket
    const c1 = client(`${a.url.replace('http', 'ws')}/api/v1/admin/live?ticket=${t1}`)
    await c1.opened
    await c1.next((m) => m.type === 'hello')
    const first = await placeOrderOn(b.url, productId)
    const got = await c1.next((m) => m.type === 'order.created' && m.data.id === first)
    // B's checkout announced the stock change (inventory's onStockChange): it reaches A too.
    const stock = await c1.next(
      (m) => m.type === 'stock.changed' && (m.data.products as { productId: string }[]).some((p) => p.productId === productId),
    )
    expect(
      (stock.data.products as { productId: string; available: number }[]).find((p) => p.productId === productId)?.available,
    ).toBeLessThan(100)
    expect(typeof got.seq).toBe('number')
    expect(new Date(got.at).getTime()).toBeGreaterThan(0)
    // Sequence ids only grow.
    const seqs = c1.messages.filter((m) => m.type !== 'heartbeat' && m.type !== 'hello').map((m) => m.seq)
    expect([...seqs].sort((x, y) => x - y)).toEqual(seqs)
    // Instance A fanned it out with the server's native publish(), not a loop of sends.
    expect(await (await fetch(`${a.url}/metrics`)).text()).toMatch(/^live_fanout_total\{path="publish"\} [1-9]/m)
    const lastSeen = got.seq
    await c1.close()

    // While disconnected: two more orders.
    const missed = [await placeOrderOn(b.url, productId), await placeOrderOn(b.url, productId)]
    const t2 = ((await (await ticket(a.url)).json()) as { ticket: string }).ticket
    // Wait until B has published them (the relay runs every 50 ms), then reconnect with since.
    const probe = client(
      `${b.url.replace('http', 'ws')}/api/v1/admin/live?ticket=${((await (await ticket(b.url)).json()) as { ticket: string }).ticket}&since=${lastSeen}`,
    )
    await probe.opened
    for (const id of missed) await probe.next((m) => m.type === 'order.created' && m.data.id === id)
    await probe.close()
    const c2 = client(`${a.url.replace('http', 'ws')}/api/v1/admin/live?ticket=${t2}&since=${lastSeen}`)
    await c2.opened
    const hello = await c2.next((m) => m.type === 'hello')
    expect(hello.data.gap).toBe(false)
    for (const id of missed) await c2.next((m) => m.type === 'order.created' && m.data.id === id)
    const replayed = c2.messages.filter((m) => m.type !== 'hello' && m.type !== 'heartbeat')
    expect(replayed.every((m) => m.seq > lastSeen)).toBe(true)
    expect(new Set(replayed.map((m) => m.seq)).size).toBe(replayed.length) // each once
    // The metrics tick arrives every second with its fields.
    const tick = await c2.next((m) => m.type === 'metrics.tick', 10_000)
    for (const f of ['ordersPerMinute', 'revenuePerMinuteCents', 'soldOutRejectionsPerSecond', 'p99Ms']) expect(tick.data).toHaveProperty(f)
    await c2.close()
  }, 60_000)
})

describe('public sale feed', () => {
  test('a burst of sale.status updates is coalesced to ≤ 4 messages/s; the last state always arrives', async () => {
    const saleId = crypto.randomUUID()
    expect((await fetch(`${a.url}/api/v1/sales/not-a-uuid/live`, { headers: upgradeHeaders })).status).toBe(422)
    const c = client(`${a.url.replace('http', 'ws')}/api/v1/sales/${saleId}/live`)
    await c.opened
    await c.next((m) => m.type === 'sale.status') // the current state (unknown yet)
    const t0 = Date.now()
    for (let remaining = 100; remaining >= 0; remaining -= 1) {
      await publishSaleStatus(saleId, { status: remaining ? 'live' : 'sold_out', remaining })
      if (remaining % 10 === 0) await Bun.sleep(40) // ~0.4 s of updates, as a sale would send them
    }
    const last = await c.next((m) => m.data.remaining === 0)
    const elapsed = Date.now() - t0
    const updates = c.messages.filter((m) => m.data.status !== 'unknown')
    expect(last.data.status).toBe('sold_out')
    expect(updates.length).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 1)
    expect(updates.length).toBeLessThan(101 / 4)
    for (let i = 1; i < updates.length; i++)
      expect(new Date(updates[i]!.at).getTime() - new Date(updates[i - 1]!.at).getTime()).toBeGreaterThanOrEqual(0)
    // A late joiner gets the latest state at once.
    const late = client(`${a.url.replace('http', 'ws')}/api/v1/sales/${saleId}/live`)
    await late.opened
    expect((await late.next(() => true)).data).toMatchObject({ saleId, status: 'sold_out', remaining: 0 })
    await Promise.all([c.close(), late.close()])
  }, 30_000)

  test('the sales module announces a real sale: watchers see remaining fall and sold_out', async () => {
    const sale = await createSale({ units: 2, limit: 1 })
    await openNow(sale.id)
    const c = client(`${a.url.replace('http', 'ws')}/api/v1/sales/${sale.id}/live`)
    await c.opened
    for (const remaining of [1, 0]) {
      const who = await createUser('customer')
      expect((await saleOrder(who.token, sale.id)).status).toBe(201)
      const m = await c.next((x) => x.data.remaining === remaining)
      expect(m.data).toMatchObject({ saleId: sale.id, status: remaining ? 'live' : 'sold_out' })
    }
    await c.close()
  }, 30_000)
})

test('p99 of the interval from cumulative histogram buckets', () => {
  expect(p99FromBuckets([0.001, 0.01, 0.1, Number.POSITIVE_INFINITY], [50, 99, 100, 100])).toBe(10)
  expect(p99FromBuckets([0.001, 0.01], [0, 0])).toBeNull()
})
