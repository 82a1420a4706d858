// Reservation expiry sweep (maintenance/expire-reservations → orders.expireOverdueOrders): an
// unpaid order past its reservation gets `expired` and its units come back; a live one is untouched.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Job } from 'bullmq'
import { startWorkerSet, type WorkerSet } from '../jobs/worker'
import { db } from '../src/infra/db'
import { queue } from '../src/infra/queues'
import { createUser, req } from './helpers'
import { productWithStock, waitFor } from './jobs-helpers'

let workers: WorkerSet
beforeAll(async () => {
  workers = await startWorkerSet({ queues: ['maintenance'], schedules: false, relay: false })
})
afterAll(async () => {
  await workers.close()
})

async function inventoryOf(productId: string) {
  const [row] = [
    ...(await db.execute<{ on_hand: number; reserved: number }>(
      `select on_hand, reserved from inventory where product_id = '${productId}'`,
    )),
  ]
  return row!
}

async function sweep(): Promise<Job> {
  const job = await queue('maintenance').add('expire-reservations', {})
  return waitFor('the sweep', async () => {
    const j = await queue('maintenance').getJob(job.id!)
    const state = await j?.getState()
    if (state === 'failed') throw new Error(j?.failedReason)
    return state === 'completed' ? j : null
  })
}

describe('reservation expiry sweep', () => {
  test('expires overdue unpaid orders, returns their units, leaves live ones alone; idempotent', async () => {
    const buyer = await createUser('customer')
    const productId = await productWithStock(10, 0)
    const place = (quantity: number) =>
      req('POST', '/api/v1/orders', {
        token: buyer.token,
        body: { items: [{ productId, quantity }] },
        headers: { 'idempotency-key': `exp-${Bun.randomUUIDv7()}` },
      })
    const overdue = await place(4)
    const live = await place(3)
    expect([overdue.status, live.status]).toEqual([201, 201])
    expect(await inventoryOf(productId)).toEqual({ on_hand: 10, reserved: 7 })

    // Time passes for the first order only.
    await db.execute(`update orders set reservation_expires_at = now() - interval '1 second' where id = '${overdue.body.id}'`)
    await db.execute(`update reservations set expires_at = now() - interval '1 second' where order_id = '${overdue.body.id}'`)

    const job = await sweep()
    expect((job.returnvalue as { expired: number }).expired).toBeGreaterThanOrEqual(1)
    const after = await req('GET', `/api/v1/orders/${overdue.body.id}`, { token: buyer.token })
    expect(after.body.status).toBe('expired')
    expect((await req('GET', `/api/v1/orders/${live.body.id}`, { token: buyer.token })).body.status).toBe('pending_payment')
    expect(await inventoryOf(productId)).toEqual({ on_hand: 10, reserved: 3 })
    const reservations = [
      ...(await db.execute<{ status: string }>(`select status from reservations where order_id = '${overdue.body.id}'`)),
    ]
    expect(reservations.map((r) => r.status)).toEqual(['expired'])
    const events = [...(await db.execute<{ type: string }>(`select type from outbox_events where aggregate_id = '${overdue.body.id}'`))]
    expect(events.map((e) => e.type)).toContain('order.expired')

    // A second sweep changes nothing.
    await sweep()
    expect(await inventoryOf(productId)).toEqual({ on_hand: 10, reserved: 3 })
    expect((await req('GET', `/api/v1/orders/${overdue.body.id}`, { token: buyer.token })).body.status).toBe('expired')
  }, 30_000)
})
