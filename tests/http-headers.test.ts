// Response headers every route shares: Vary names only what an answer depends on (never "*"),
// and JSON declares its charset the same way on every route, problem+json included.
import { describe, expect, test } from 'bun:test'
import { createUser, req, type TestResponse } from './helpers'
import { newKey, order, productWithStock } from './orders-fixtures'

const JSON_TYPE = 'application/json;charset=utf-8'
const PROBLEM_TYPE = 'application/problem+json;charset=utf-8'
const origin = { origin: 'https://shop.example' }

const varyOf = (r: TestResponse) =>
  (r.headers.get('vary') ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean)

describe('Vary', () => {
  test('public answers vary on Origin only; answers for a signed-in caller also on Authorization; never *', async () => {
    const customer = await createUser('customer')
    const productId = await productWithStock(5)
    const cases: [string, TestResponse, string[]][] = [
      ['health', await req('GET', '/health', { headers: origin }), ['Origin']],
      ['product list', await req('GET', '/api/v1/products?limit=2', { headers: origin }), ['Origin']],
      ['product', await req('GET', `/api/v1/products/${productId}`, { headers: origin }), ['Origin']],
      ['unknown route', await req('GET', '/api/v1/nope', { headers: origin }), ['Origin']],
      [
        'preflight',
        await req('OPTIONS', '/api/v1/orders', { headers: { ...origin, 'access-control-request-method': 'POST' } }),
        ['Origin'],
      ],
      ['own orders', await req('GET', '/api/v1/orders', { token: customer.token, headers: origin }), ['Origin', 'Authorization']],
      ['own orders, anonymous (401)', await req('GET', '/api/v1/orders', { headers: origin }), ['Origin', 'Authorization']],
      [
        'admin route as customer (403)',
        await req('GET', '/api/v1/admin/users', { token: customer.token, headers: origin }),
        ['Origin', 'Authorization'],
      ],
    ]
    for (const [name, r, want] of cases) expect({ name, vary: varyOf(r) }).toEqual({ name, vary: want })
    expect(cases.map(([, r]) => r.status)).toEqual([200, 200, 200, 404, 204, 200, 401, 403])
  })
})

describe('Content-Type', () => {
  test('every JSON answer is application/json;charset=utf-8 and every problem application/problem+json;charset=utf-8', async () => {
    const customer = await createUser('customer')
    const productId = await productWithStock(5)
    const created = await order(customer.token, [{ productId, quantity: 1 }])
    expect(created.status).toBe(201)
    const json: [string, TestResponse][] = [
      ['health', await req('GET', '/health')],
      ['ready', await req('GET', '/ready')],
      ['product list (pre-serialised)', await req('GET', '/api/v1/products?limit=2')],
      ['product (cached body)', await req('GET', `/api/v1/products/${productId}`)],
      ['categories', await req('GET', '/api/v1/categories')],
      ['order created (through the idempotency plugin)', created],
      ['order read', await req('GET', `/api/v1/orders/${created.body.id}`, { token: customer.token })],
    ]
    const problems: [string, TestResponse][] = [
      ['404', await req('GET', '/api/v1/nope')],
      ['401', await req('GET', '/api/v1/orders')],
      ['422', await req('GET', '/api/v1/products?limit=0')],
      ['400 missing idempotency key', await req('POST', '/api/v1/orders', { token: customer.token, body: { items: [] } })],
      [
        '401 wrong password',
        await req('POST', '/api/v1/auth/login', { body: { email: 'nobody@test.local', password: 'Wrong-password-1' } }),
      ],
    ]
    for (const [name, r] of json) expect({ name, type: r.headers.get('content-type') }).toEqual({ name, type: JSON_TYPE })
    for (const [name, r] of problems) expect({ name, type: r.headers.get('content-type') }).toEqual({ name, type: PROBLEM_TYPE })
    // A replay carries the stored type, so it matches too.
    const key = newKey()
    const first = await order(customer.token, [{ productId, quantity: 1 }], key)
    const replay = await order(customer.token, [{ productId, quantity: 1 }], key)
    expect(replay.headers.get('idempotent-replayed')).toBe('true')
    expect([first.headers.get('content-type'), replay.headers.get('content-type')]).toEqual([JSON_TYPE, JSON_TYPE])
  })
})
