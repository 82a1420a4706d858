// Every error class answers RFC 9457 problem+json with the right status and a stable code.
import { describe, expect, test } from 'bun:test'
import { Elysia, t } from 'elysia'
import { config } from '../src/config'
import { ConflictError } from '../src/lib/errors'
import { errorsPlugin } from '../src/plugins/errors'
import { httpPlugin } from '../src/plugins/http'
import { requestIdPlugin } from '../src/plugins/request-id'
import { req } from './helpers'

// A tiny app with the real plugins and routes that exercise each error path.
const probe = new Elysia()
  .use(requestIdPlugin)
  .use(errorsPlugin)
  .use(httpPlugin)
  .post('/echo', ({ body }) => body, {
    body: t.Object({ name: t.String({ minLength: 1 }), items: t.Array(t.Object({ quantity: t.Integer({ minimum: 1 }) })) }),
  })
  .get('/boom', () => {
    throw new Error('secret internal detail at /srv/app.ts:42')
  })
  .get('/conflict', () => {
    throw new ConflictError('already there', 'duplicate_thing', { thingId: 'x' })
  })
  .get('/clobber', () => {
    const extras = {
      type: 'x',
      title: 'x',
      status: 'cancelled',
      detail: 'x',
      instance: 'x',
      code: 'x',
      requestId: 'x',
      orderStatus: 'cancelled',
    }
    throw new ConflictError('not payable', 'order_not_payable', extras)
  })

const call = (method: string, path: string, init: RequestInit = {}) =>
  probe.handle(new Request(`http://localhost${path}`, { method, ...init }))
const json = { 'content-type': 'application/json' }

function expectProblem(body: Record<string, unknown>, status: number, code: string) {
  expect(body).toMatchObject({ status, code })
  for (const k of ['type', 'title', 'detail', 'instance', 'requestId']) expect(typeof body[k]).toBe('string')
}

describe('problem+json error classes', () => {
  test('malformed JSON → 400', async () => {
    const r = await call('POST', '/echo', { headers: json, body: '{"name": ' })
    expect(r.status).toBe(400)
    expect(r.headers.get('content-type')).toBe('application/problem+json;charset=utf-8')
    expectProblem(await r.json(), 400, 'malformed_body')
  })

  test('schema violation → 422 with field paths', async () => {
    const r = await call('POST', '/echo', { headers: json, body: JSON.stringify({ name: '', items: [{ quantity: 0 }] }) })
    expect(r.status).toBe(422)
    const body = await r.json()
    expectProblem(body, 422, 'validation_failed')
    const fields = body.errors.map((e: { field: string }) => e.field)
    expect(fields).toContain('name')
    expect(fields).toContain('items.0.quantity')
  })

  test('oversized body → 413 before parsing', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(config.BODY_LIMIT_BYTES + 10), items: [] })
    const r = await call('POST', '/echo', { headers: { ...json, 'content-length': String(big.length) }, body: big })
    expect(r.status).toBe(413)
    expectProblem(await r.json(), 413, 'payload_too_large')
  })

  test('unexpected error → 500 problem without internals, with the request id', async () => {
    const r = await call('GET', '/boom', { headers: { 'x-request-id': 'req-500-test' } })
    expect(r.status).toBe(500)
    const text = await r.text()
    expect(text).not.toContain('secret internal detail')
    expect(text).not.toContain('app.ts')
    const body = JSON.parse(text)
    expectProblem(body, 500, 'internal_error')
    expect(body.requestId).toBe('req-500-test')
    expect(r.headers.get('x-request-id')).toBe('req-500-test')
  })

  test('domain errors carry their code and extra members', async () => {
    const r = await call('GET', '/conflict')
    expect(r.status).toBe(409)
    const body = await r.json()
    expectProblem(body, 409, 'duplicate_thing')
    expect(body.thingId).toBe('x')
  })

  test('extras never overwrite the RFC 9457 members (nor code and requestId)', async () => {
    const r = await call('GET', '/clobber', { headers: { 'x-request-id': 'req-clobber' } })
    expect(r.status).toBe(409)
    expect(await r.json()).toEqual({
      type: 'https://stampede.dev/problems/order-not-payable',
      title: 'Conflict',
      status: 409,
      detail: 'not payable',
      instance: '/clobber',
      code: 'order_not_payable',
      requestId: 'req-clobber',
      orderStatus: 'cancelled',
    })
  })

  test('unknown route on the real app → 404; wrong method → 405', async () => {
    expect((await req('GET', '/api/v1/definitely-not-here')).status).toBe(404)
    const r = await req('PUT', '/ready')
    expect(r.status).toBe(405)
    expectProblem(r.body, 405, 'method_not_allowed')
  })
})
