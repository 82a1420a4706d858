// Worker boot: schedulers registered once however many workers start, metrics, Bull Board access.
import { afterAll, describe, expect, test } from 'bun:test'
import { purgePublishedEvents } from '../jobs/outbox-relay'
import { schedules } from '../jobs/schedules'
import { startWorkerSet, type WorkerSet } from '../jobs/worker'
import { config } from '../src/config'
import { sql } from '../src/infra/db'
import { QUEUES, queue } from '../src/infra/queues'
import { createUser, req } from './helpers'
import { waitFor } from './jobs-helpers'

const sets: WorkerSet[] = []
afterAll(async () => {
  await Promise.all(sets.map((s) => s.close()))
})

async function schedulerCounts(): Promise<Record<string, number>> {
  return Object.fromEntries(await Promise.all(QUEUES.map(async (q) => [q, await queue(q).getJobSchedulersCount()] as const)))
}

describe('job schedulers', () => {
  test('two workers starting at once register each scheduler exactly once; a restart adds none', async () => {
    const [a, b] = await Promise.all([startWorkerSet({ relay: false }), startWorkerSet({ relay: false })])
    sets.push(a, b)
    await Promise.all([a.schedulesReady, b.schedulesReady])
    const expected = {
      payments: 0,
      'order-emails': 0,
      'stock-alerts': 1,
      maintenance: 7,
      recommendations: 1,
      planning: 2,
      'ml-training': 1,
      search: 1,
      risk: 0,
      analytics: 1,
    }
    expect(await schedulerCounts()).toEqual(expected)

    // Restart one of them (close + start again): still one of each.
    await a.close()
    const c = await startWorkerSet({ relay: false })
    sets.push(c)
    await c.schedulesReady
    expect(await schedulerCounts()).toEqual(expected)

    const maintenance = await queue('maintenance').getJobSchedulers()
    const byId = Object.fromEntries(maintenance.map((s) => [s.key, s]))
    expect(Number(byId['expire-reservations']?.every)).toBe(config.SCHEDULE_EXPIRE_RESERVATIONS_MS)
    expect(Number(byId['reconcile-gate']?.every)).toBe(config.SCHEDULE_RECONCILE_GATE_MS)
    expect(schedules().map((s) => s.id)).toContain('purge-refresh-tokens')
    // Model retraining is a cron (an \`every\` scheduler would start a training at each worker boot).
    const [training] = await queue('ml-training').getJobSchedulers()
    expect(training?.pattern).toBe(config.ML_TRAINING_CRON)
    // Each scheduler keeps exactly one upcoming job, not one per worker.
    const delayed = await queue('maintenance').getJobs(['delayed'])
    const perScheduler = new Map<string, number>()
    for (const j of delayed) if (j.repeatJobKey) perScheduler.set(j.repeatJobKey, (perScheduler.get(j.repeatJobKey) ?? 0) + 1)
    for (const n of perScheduler.values()) expect(n).toBe(1)
  }, 30_000)

  test('scheduled sweeps run and complete (recommendations rebuild, refresh-token purge, gate reconcile, owed-work recovery)', async () => {
    // every-schedules fire once immediately.
    const done = await waitFor('rebuild-matrix to complete', async () => {
      const jobs = await queue('recommendations').getJobs(['completed'])
      return jobs.find((j) => j.name === 'rebuild-matrix')
    })
    expect(typeof (done.returnvalue as { orders: number }).orders).toBe('number')
    const purge = await waitFor('purge-refresh-tokens to complete', async () => {
      const jobs = await queue('maintenance').getJobs(['completed'])
      return jobs.find((j) => j.name === 'purge-refresh-tokens')
    })
    expect(typeof (purge.returnvalue as { purged: number }).purged).toBe('number')
    const gate = await waitFor('reconcile-gate to complete', async () => {
      const jobs = await queue('maintenance').getJobs(['completed'])
      return jobs.find((j) => j.name === 'reconcile-gate')
    })
    expect(typeof (gate.returnvalue as { fixed: number }).fixed).toBe('number')
    const recover = await waitFor('recover-owed to complete', async () => {
      const jobs = await queue('maintenance').getJobs(['completed'])
      return jobs.find((j) => j.name === 'recover-owed')
    })
    expect(recover.returnvalue).toMatchObject({ emails: expect.any(Number), payments: expect.any(Number) })
    const sales = await waitFor('sweep-sales to complete', async () => {
      const jobs = await queue('maintenance').getJobs(['completed'])
      return jobs.find((j) => j.name === 'sweep-sales')
    })
    expect(sales.returnvalue).toMatchObject({ installed: expect.any(Number), closed: expect.any(Number), returned: expect.any(Number) })
    const failed = await queue('maintenance').getJobs(['failed'])
    expect(failed.map((j) => `${j.name}: ${j.failedReason}`)).toEqual([])
  }, 30_000)
})

describe('metrics', () => {
  test('/metrics exposes queue depth per queue and state, job durations and failures', async () => {
    await queue('order-emails').add('send-confirmation', { eventId: 'x', orderId: 'not-a-uuid', kind: 'order_confirmation', payload: {} })
    await waitFor('the bad job to fail', async () => (await queue('order-emails').getJobs(['failed'])).length > 0)
    const r = await req('GET', '/metrics')
    expect(r.status).toBe(200)
    for (const q of QUEUES) expect(r.text).toContain(`bullmq_queue_jobs{queue="${q}",state="waiting"}`)
    expect(r.text).toMatch(/bullmq_queue_jobs\{queue="order-emails",state="failed"\} [1-9]/)
    expect(r.text).toContain('bullmq_job_duration_seconds_bucket{')
    expect(r.text).toMatch(/bullmq_job_failures_total\{queue="order-emails",name="send-confirmation",final="true"\} [1-9]/)
    // Bad data is not retried: UnrecoverableError ends it on the first attempt.
    const [bad] = await queue('order-emails').getJobs(['failed'])
    expect(bad?.attemptsMade).toBe(1)
  }, 30_000)
})

describe('Bull Board', () => {
  test('401 without a token, 403 for customers, 200 for admins (header or cookie)', async () => {
    const customer = await createUser('customer')
    const admin = await createUser('admin')
    for (const path of ['/admin/queues', '/admin/queues/', '/admin/queues/api/queues', '/admin/queues/static/favicon-32x32.png']) {
      const anon = await req('GET', path)
      expect(anon.status).toBe(401)
      expect(anon.headers.get('content-type')).toContain('application/problem+json')
      const cust = await req('GET', path, { token: customer.token })
      expect(cust.status).toBe(403)
      expect(cust.body.code).toBe('forbidden')
    }
    expect((await req('PUT', '/admin/queues/api/queues/pause', { token: customer.token })).status).toBe(403)
    expect((await req('GET', '/admin/queues/login?token=garbage')).status).toBe(401)
    expect((await req('GET', `/admin/queues/login?token=${customer.token}`)).status).toBe(403)

    const page = await req('GET', '/admin/queues', { token: admin.token })
    expect(page.status).toBe(200)
    expect(page.text).toContain('<base href="/admin/queues/"')
    const api = await req('GET', '/admin/queues/api/queues', { token: admin.token })
    expect(api.status).toBe(200)
    expect(api.body.queues.map((q: { name: string }) => q.name).sort()).toEqual([...QUEUES].sort())
    expect((await req('GET', '/admin/queues/api/redis/stats', { token: admin.token })).status).toBe(200)
    // A mutating board route reaches the board (resuming a running queue changes nothing).
    expect((await req('PUT', `/admin/queues/api/queues/${QUEUES[0]}/resume`, { token: admin.token })).status).toBe(200)
    // Unknown board paths are a 404 problem, not a 500 from inside the board.
    const unknown = await req('GET', '/admin/queues/api/no-such-thing', { token: admin.token })
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get('content-type')).toContain('application/problem+json')

    // Browser sign-in: the token becomes an HttpOnly SameSite=Strict cookie scoped to the board.
    const login = await req('GET', `/admin/queues/login?token=${admin.token}`)
    expect(login.status).toBe(303)
    const setCookie = login.headers.get('set-cookie') ?? ''
    expect(setCookie).toContain('HttpOnly')
    expect(setCookie).toContain('SameSite=Strict')
    expect(setCookie).toContain('Path=/admin/queues')
    const viaCookie = await req('GET', '/admin/queues/api/queues', { headers: { cookie: setCookie.split(';')[0]! } })
    expect(viaCookie.status).toBe(200)
    // The cookie is not accepted by the API proper (it only exists for the board).
    expect((await req('GET', '/api/v1/admin/alerts', { headers: { cookie: setCookie.split(';')[0]! } })).status).toBe(401)
    // The board's guard does not leak onto other routes.
    expect((await req('GET', '/health')).status).toBe(200)
  })
})

describe('outbox retention', () => {
  test('published events older than the retention are purged; unpublished ones never are', async () => {
    const [oldPublished, oldUnpublished, recent] = [Bun.randomUUIDv7(), Bun.randomUUIDv7(), Bun.randomUUIDv7()]
    const agg = Bun.randomUUIDv7()
    await sql`insert into outbox_events (id, type, aggregate_id, payload, created_at, published_at) values
      (${oldPublished}, 'order.status_changed', ${agg}, '{}', now() - interval '30 days', now() - interval '30 days'),
      (${oldUnpublished}, 'order.status_changed', ${agg}, '{}', now() - interval '30 days', null),
      (${recent}, 'order.status_changed', ${agg}, '{}', now(), now())`
    expect(await purgePublishedEvents(7)).toBeGreaterThanOrEqual(1)
    const left = await sql<{ id: string }[]>`select id from outbox_events where aggregate_id = ${agg} order by id`
    expect(left.map((r) => r.id).sort()).toEqual([oldUnpublished, recent].sort())
    await sql`delete from outbox_events where aggregate_id = ${agg}`
  })
})
