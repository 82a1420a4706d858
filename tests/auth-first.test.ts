// Authentication before validation (issue 19): on a secured operation an anonymous caller gets 401
// and a customer on an admin route 403 — before the body, query or params are validated, so a 422
// never describes a secured operation's fields to someone who may not call it.
import { describe, expect, test } from 'bun:test'
import { createUser, req } from './helpers'

const bad = 'not-a-uuid'
/** [method, path, invalid body (or undefined)] — every one also fails validation. */
const CUSTOMER_ROUTES: [string, string, unknown][] = [
  ['POST', '/api/v1/orders', { items: 'many', extra: 1 }],
  ['GET', '/api/v1/orders?limit=lots', undefined],
  ['GET', `/api/v1/orders/${bad}`, undefined],
  ['POST', `/api/v1/orders/${bad}/pay`, { paymentMethod: 42 }],
  ['PUT', `/api/v1/cart/items/${bad}`, { quantity: -1 }],
  ['POST', `/api/v1/products/${bad}/reviews`, { rating: 9 }],
  ['POST', '/api/v1/auth/password', { currentPassword: 1 }],
]
const ADMIN_ROUTES: [string, string, unknown][] = [
  ['GET', '/api/v1/admin/users?limit=abc', undefined],
  ['PATCH', `/api/v1/admin/users/${bad}`, { role: 'emperor' }],
  ['DELETE', `/api/v1/admin/users/${bad}`, undefined],
  ['POST', '/api/v1/products', { priceCents: 'free' }],
  ['PATCH', `/api/v1/products/${bad}`, { priceCents: -5 }],
  ['POST', '/api/v1/categories', {}],
  ['PATCH', `/api/v1/admin/orders/${bad}`, { status: 'gone' }],
  ['GET', '/api/v1/admin/mail?limit=x&kind=nope', undefined],
]

const call = (method: string, path: string, body: unknown, token?: string) =>
  req(method, path, { token, ...(body === undefined ? {} : { body }) })

describe('authentication comes before validation', () => {
  test.each([...CUSTOMER_ROUTES, ...ADMIN_ROUTES])(
    'anonymous %s %s with invalid input → 401, no field details',
    async (method, path, body) => {
      const r = await call(method, path, body)
      expect(r.status).toBe(401)
      expect(r.headers.get('www-authenticate')).toBe('Bearer')
      expect(r.headers.get('content-type')).toContain('application/problem+json')
      expect(r.body.errors).toBeUndefined()
    },
  )

  test.each(ADMIN_ROUTES)('customer %s %s with invalid input → 403, no field details', async (method, path, body) => {
    const customer = await createUser()
    const r = await call(method, path, body, customer.token)
    expect(r.status).toBe(403)
    expect(r.headers.get('content-type')).toContain('application/problem+json')
    expect(r.body.errors).toBeUndefined()
  })

  test('the right caller with invalid input still gets the 422 naming the field', async () => {
    const [customer, admin] = await Promise.all([createUser(), createUser('admin')])
    const r = await call('PATCH', `/api/v1/admin/users/${bad}`, { role: 'emperor' }, admin.token)
    expect(r.status).toBe(422)
    expect(r.body.errors.length).toBeGreaterThan(0)
    const o = await call('POST', '/api/v1/orders', { items: 'many' }, customer.token)
    expect([400, 422]).toContain(o.status) // 400 when the Idempotency-Key is missing, else 422
  })
})
