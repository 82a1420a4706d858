// Bad input never answers 5xx: every client mistake found by fuzzing (NUL bytes, numbers past what a
// column holds, cursors that decode but do not fit SQL, unknown fields, wrong content types,
// upper-case UUIDs) is a 4xx problem+json naming the field, and the valid twin still works.
import { beforeAll, describe, expect, test } from 'bun:test'
import { encodeCursor } from '../src/lib/cursor'
import { createUser, req, type TestResponse } from './helpers'
import { newKey, order, pay, productWithStock } from './orders-fixtures'

let admin: { id: string; token: string }
let customer: { id: string; token: string }
let productId: string

beforeAll(async () => {
  admin = await createUser('admin')
  customer = await createUser('customer')
  productId = await productWithStock(50)
})

type FieldError = { field: string; in: string; pointer: string; message: string }

/** A 4xx problem+json whose `errors` name `field` (and, when given, where it was). */
function expectField(r: TestResponse, status: number, field: string, where?: string): FieldError {
  expect([r.status, r.text]).toEqual([status, r.text])
  expect(r.headers.get('content-type')).toContain('application/problem+json')
  expect(r.body.status).toBe(status)
  const hit = (r.body.errors as FieldError[] | undefined)?.find((e) => e.field === field)
  expect([field, hit ? 'named' : JSON.stringify(r.body.errors)]).toEqual([field, 'named'])
  if (where) expect(hit!.in).toBe(where)
  return hit!
}

const NUL = 'a\u0000b'

describe('NUL bytes (Postgres text cannot hold them) → 422 naming the field', () => {
  test('search query', async () => {
    expectField(await req('GET', '/api/v1/products?q=a%00b'), 422, 'query.q', 'query')
    expect((await req('GET', '/api/v1/products?q=ab')).status).toBe(200)
  })

  test('anonymous login and register', async () => {
    expectField(await req('POST', '/api/v1/auth/login', { body: { email: `x${NUL}@test.local`, password: 'whatever-1234' } }), 422, 'email')
    expectField(await req('POST', '/api/v1/auth/login', { body: { email: 'x@test.local', password: NUL } }), 422, 'password')
    const email = `nul${Date.now()}@test.local`
    expectField(
      await req('POST', '/api/v1/auth/register', { body: { email, password: 'Correct-horse-7', name: NUL } }),
      422,
      'name',
      'body',
    )
    expect((await req('POST', '/api/v1/auth/register', { body: { email, password: 'Correct-horse-7', name: 'Ada' } })).status).toBe(201)
  })

  test('review, product, category and restock text', async () => {
    const p = await productWithStock(1)
    expectField(await req('POST', `/api/v1/products/${p}/reviews`, { token: customer.token, body: { rating: 5, body: NUL } }), 422, 'body')
    expectField(await req('POST', '/api/v1/products', { token: admin.token, body: { name: NUL, priceCents: 1 } }), 422, 'name')
    expectField(
      await req('POST', '/api/v1/products', { token: admin.token, body: { name: 'ok', description: NUL, priceCents: 1 } }),
      422,
      'description',
    )
    expectField(await req('PATCH', `/api/v1/products/${p}`, { token: admin.token, body: { brand: NUL } }), 422, 'brand')
    expectField(await req('POST', '/api/v1/categories', { token: admin.token, body: { name: NUL } }), 422, 'name')
    expectField(
      await req('POST', `/api/v1/inventory/${p}/restock`, { token: admin.token, body: { quantity: 1, reason: NUL } }),
      422,
      'reason',
    )
    expect(
      (await req('POST', `/api/v1/products/${p}/reviews`, { token: customer.token, body: { rating: 5, body: 'Fine ✓' } })).status,
    ).toBe(201)
    expect((await req('POST', `/api/v1/inventory/${p}/restock`, { token: admin.token, body: { quantity: 1, reason: 'ok' } })).status).toBe(
      200,
    )
  })

  test('every NUL is reported, not only the first', async () => {
    const r = await req('POST', '/api/v1/products', { token: admin.token, body: { name: NUL, description: NUL, priceCents: 1 } })
    expectField(r, 422, 'name')
    expectField(r, 422, 'description')
  })
})

describe('numbers past what a column holds', () => {
  test('an order of 2 × a 2,000,000,000-cent product → 201 with the exact total', async () => {
    const r0 = await req('POST', '/api/v1/products', {
      token: admin.token,
      body: { name: 'Costly', priceCents: 2_000_000_000, initialStock: 10 },
    })
    expect(r0.status).toBe(201)
    const u = await createUser()
    const r = await order(u.token, [{ productId: r0.body.id, quantity: 2 }])
    expect([r.status, r.text]).toEqual([201, r.text])
    expect(r.body.totalCents).toBe(4_000_000_000)
    const got = await req('GET', `/api/v1/orders/${r.body.id}`, { token: u.token })
    expect(got.body.totalCents).toBe(4_000_000_000)
    const paid = await pay(u.token, r.body.id, 'pm_card_ok')
    expect(paid.status).toBeLessThan(300)
  })

  test('price filters beyond int4 → 422; the largest price still filters', async () => {
    expectField(await req('GET', '/api/v1/products?minPriceCents=2147483648'), 422, 'query.minPriceCents', 'query')
    expectField(await req('GET', '/api/v1/products?maxPriceCents=99999999999999'), 422, 'query.maxPriceCents', 'query')
    expect((await req('GET', '/api/v1/products?maxPriceCents=2147483647&minPriceCents=2147483647')).status).toBe(200)
  })
})

describe('cursors that decode but would fail in SQL → 422 naming the cursor', () => {
  const id = '0190c6b0-0000-7000-8000-000000000000'
  const now = () => new Date().toISOString()
  const cases: [string, unknown[]][] = [
    ['price key past int4', ['999999999999', id, 'price_asc', 'none', now(), 0]],
    ['price key past int4 (desc)', ['-2147483649', id, 'price_desc', 'none', now(), 0]],
    ['impossible date', ['2026-13-45 25:61:61', id, 'newest', 'none', now(), 0]],
    ['year 0', ['0000-01-01 00:00:00+00', id, 'newest', 'none', now(), 0]],
    ['empty rank key', ['', id, 'rank', 'none', now(), 0]],
    ['rank key Postgres does not parse', ['1.', id, 'rank', 'none', now(), 0]],
    ['ranking clock in year +275760', ['0.5', id, 'rank', 'none', '+275760-09-13T00:00:00.000Z', 0]],
    ['ranking clock in year -271821', ['0.5', id, 'rank', 'none', '-271821-04-20T00:00:00.000Z', 0]],
    ['top seller count past int4', ['0.5', id, 'rank', 'none', now(), 1e20]],
  ]
  test.each(cases)('products: %s', async (_, key) => {
    const sort = key[2]
    expectField(await req('GET', `/api/v1/products?sort=${sort}&cursor=${encodeCursor(key)}`), 422, 'query.cursor', 'query')
  })

  test.each([
    ['impossible date', ['2026-13-45 25:61:61', id]],
    ['February 30th', ['2026-02-30 10:00:00+00', id]],
    ['year 0', ['0000-06-01 10:00:00+00', id]],
    ['offset past ±15:59', ['2026-06-01 10:00:00+16', id]],
  ])('reviews: %s', async (_, key) => {
    expectField(await req('GET', `/api/v1/products/${productId}/reviews?cursor=${encodeCursor(key)}`), 422, 'query.cursor')
  })

  test('cursors the server made still page', async () => {
    const first = await req('GET', '/api/v1/products?sort=price_desc&limit=1')
    expect(first.status).toBe(200)
    if (first.body.nextCursor)
      expect((await req('GET', `/api/v1/products?sort=price_desc&limit=1&cursor=${first.body.nextCursor}`)).status).toBe(200)
    const key = encodeCursor(['2026-02-28 23:59:59.123456+00', id])
    expect((await req('GET', `/api/v1/products/${productId}/reviews?cursor=${key}`)).status).toBe(200)
  })
})

describe('upper-case UUIDs are the same ids everywhere', () => {
  test('read, review, cart, order and inventory routes accept them and answer with lower case', async () => {
    const p = await productWithStock(20)
    const P = p.toUpperCase()
    const got = await req('GET', `/api/v1/products/${P}`)
    expect([got.status, got.body.id]).toEqual([200, p])
    expect((await req('GET', `/api/v1/products/${P}/reviews`)).status).toBe(200)
    expect((await req('GET', `/api/v1/inventory/${P}`)).body.productId).toBe(p)
    expect((await req('GET', `/api/v1/products/${P}/also-bought`)).status).not.toBe(404)
    const u = await createUser()
    const put = await req('PUT', `/api/v1/cart/items/${P}`, { token: u.token, body: { quantity: 1 } })
    expect(put.status).toBe(200)
    expect(put.body.items.map((i: { productId: string }) => i.productId)).toEqual([p])
    // The same product in both spellings is one line, not a duplicate key in order_items.
    const o = await order(u.token, [
      { productId: P, quantity: 1 },
      { productId: p, quantity: 1 },
    ])
    expect([o.status, o.text]).toEqual([201, o.text])
    expect(o.body.items).toEqual([{ productId: p, quantity: 2, unitPriceCents: 1000 }])
    expect((await req('GET', `/api/v1/orders/${o.body.id.toUpperCase()}`, { token: u.token })).body.id).toBe(o.body.id)
    const cat = await req('POST', '/api/v1/categories', { token: admin.token, body: { name: `C ${Date.now()}` } })
    const patched = await req('PATCH', `/api/v1/products/${P}`, { token: admin.token, body: { categoryId: cat.body.id.toUpperCase() } })
    expect([patched.status, patched.body.categoryId]).toEqual([200, cat.body.id])
    const listed = await req('GET', `/api/v1/products?categoryId=${cat.body.id.toUpperCase()}`)
    expect(listed.body.items.map((i: { id: string }) => i.id)).toEqual([p])
  })
})

describe('problem details', () => {
  test('paying a cancelled order: HTTP 409 and "status": 409; the order status is its own member', async () => {
    const u = await createUser()
    const o = await order(u.token, [{ productId, quantity: 1 }])
    expect((await req('POST', `/api/v1/orders/${o.body.id}/cancel`, { token: u.token })).status).toBe(200)
    const r = await pay(u.token, o.body.id, 'pm_card_ok')
    expect(r.status).toBe(409)
    expect(r.body).toMatchObject({ status: 409, code: 'order_not_payable', orderStatus: 'cancelled', title: 'Conflict' })
  })

  test('body errors name the body field with a JSON pointer and a human message, all of them', async () => {
    const r = await req('POST', '/api/v1/products', {
      token: admin.token,
      body: { name: '', priceCents: -5, currency: 'usd', initialStock: 'many' },
    })
    const fields = ['name', 'priceCents', 'currency', 'initialStock'].map((f) => expectField(r, 422, f, 'body'))
    expect(fields.map((f) => f.pointer)).toEqual(['/name', '/priceCents', '/currency', '/initialStock'])
    for (const f of fields) expect(f.message).not.toMatch(/union|Expected|property/i)
    expect(fields[1]!.message).toBe('must be an integer from 0 to 2000000000')
  })

  test('nested body errors point into arrays', async () => {
    const r = await req('POST', '/api/v1/orders', {
      token: customer.token,
      headers: { 'idempotency-key': newKey() },
      body: {
        items: [
          { productId, quantity: 1 },
          { productId: 'nope', quantity: 0 },
        ],
      },
    })
    expect(expectField(r, 422, 'items.1.productId', 'body').pointer).toBe('/items/1/productId')
    expectField(r, 422, 'items.1.quantity', 'body')
  })

  test('query errors are all reported', async () => {
    const r = await req('GET', '/api/v1/products?limit=0&minPriceCents=-1&sort=cheapest')
    for (const f of ['query.limit', 'query.minPriceCents', 'query.sort']) expectField(r, 422, f, 'query')
  })
})

describe('unknown fields → 422 naming them (additionalProperties: false means it)', () => {
  test('an unknown query parameter is not silently ignored', async () => {
    const r = await req('GET', '/api/v1/products?minPrice=100')
    expect(expectField(r, 422, 'query.minPrice', 'query').message).toBe('is not a known parameter')
    expect((await req('GET', '/api/v1/products?minPriceCents=100')).status).toBe(200)
  })

  test('unknown body fields, top-level and nested', async () => {
    expectField(
      await req('POST', '/api/v1/products', { token: admin.token, body: { name: 'x', priceCents: 1, stock: 3 } }),
      422,
      'stock',
      'body',
    )
    const r = await req('POST', '/api/v1/orders', {
      token: customer.token,
      headers: { 'idempotency-key': newKey() },
      body: { items: [{ productId, quantity: 1, price: 1 }] },
    })
    expectField(r, 422, 'items.0.price', 'body')
    expectField(await req('POST', '/api/v1/auth/login', { body: { email: 'a@b.c', password: 'x', remember: true } }), 422, 'remember')
  })
})

describe('content types', () => {
  test('a JSON route refuses text/plain and forms with 415 problem+json', async () => {
    const body = JSON.stringify({ email: 'a@test.local', password: 'whatever-1234' })
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const r = await req('POST', '/api/v1/auth/login', {
        raw: type.includes('form') ? 'email=a%40test.local&password=x' : body,
        headers: { 'content-type': type },
      })
      expect([type, r.status]).toEqual([type, 415])
      expect(r.headers.get('content-type')).toContain('application/problem+json')
      expect(r.body).toMatchObject({ status: 415, code: 'unsupported_media_type' })
    }
    const ok = await req('POST', '/api/v1/auth/login', { raw: body, headers: { 'content-type': 'application/json; charset=utf-8' } })
    expect(ok.status).toBe(401)
  })

  test('the webhook, which reads its body as text, is not affected', async () => {
    const r = await req('POST', '/api/v1/payments/webhook', { raw: '{}', headers: { 'content-type': 'text/plain' } })
    expect(r.status).toBe(401)
  })
})
