// The API keeps its OpenAPI contract under fuzzing: a few hundred requests generated from the
// published document (valid ones and mutated ones: NUL bytes, out-of-range numbers, wrong types,
// missing and unknown fields, malformed JSON, text/plain bodies, forged cursors, odd ids), as
// anonymous, customer and admin, against the real app (Postgres, Redis). Any 5xx, undocumented
// status or body that does not match its documented schema fails, naming operation, input and
// status. Seeded: the same requests every run (FUZZ_SEED / FUZZ_COUNT to explore further).
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { ContractChecker, describeFailure, type Fixtures, fuzz, type Send } from '../bench/lib/openapi-fuzz'
import { products as productsTable, riskRules } from '../db/schema'
import { app } from '../src/app'
import { db } from '../src/infra/db'
import { forgetRulesCache } from '../src/modules/risk/rules'
import type { Document } from '../src/plugins/openapi-document'
import { createUser } from './helpers'
import { productWithStock } from './inventory-fixtures'

const SEED = Number(process.env.FUZZ_SEED ?? 19)
const COUNT = Number(process.env.FUZZ_COUNT ?? 600)

const send: Send = async (r) => {
  const res = await app.handle(new Request(`http://localhost${r.url}`, { method: r.method, headers: r.headers, body: r.body }))
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() }
}

let doc: Document
let fx: Fixtures

beforeAll(async () => {
  doc = (await (await app.handle(new Request('http://localhost/swagger/json'))).json()) as Document
  const [customer, admin] = [await createUser('customer'), await createUser('admin')]
  // Admin user routes (role change, delete) act on a third user: aimed at the two callers they
  // revoke the tokens the rest of the run uses, and every later request of that caller is a 401.
  const victim = await createUser('customer')
  const products = [await productWithStock(50), await productWithStock(5), await productWithStock(1_000_000)]
  // The most expensive product allowed: two of them overflow a 32-bit order total.
  await db
    .update(productsTable)
    .set({ priceCents: 2_000_000_000 })
    .where(eq(productsTable.id, products[2] as string))
  const order = await send({
    method: 'POST',
    url: '/api/v1/orders',
    headers: { authorization: `Bearer ${customer.token}`, 'content-type': 'application/json', 'idempotency-key': `fuzz-${Date.now()}` },
    body: JSON.stringify({ items: [{ productId: products[0], quantity: 1 }] }),
  })
  const orderId = (JSON.parse(order.text) as { id?: string }).id
  const category = await send({
    method: 'POST',
    url: '/api/v1/categories',
    headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Fuzz', slug: `fuzz-${Date.now()}` }),
  })
  const categoryId = (JSON.parse(category.text) as { id?: string }).id
  fx = {
    tokens: { customer: customer.token, admin: admin.token },
    ids: {
      product: products as string[],
      order: orderId ? [orderId] : [],
      user: [victim.id],
      category: categoryId ? [categoryId] : [],
    },
  }
})

// The fuzz saves random (valid) risk rules; later test files of this run share the database and
// must find the built-in defaults again.
afterAll(async () => {
  await db.delete(riskRules)
  forgetRulesCache()
})

describe('OpenAPI contract fuzz', () => {
  test('the checker itself refuses what breaks the contract', () => {
    const checker = new ContractChecker(doc)
    const op = {
      key: 'GET /health',
      method: 'GET',
      path: '/health',
      params: [],
      responses: { '200': doc.paths['/health']?.get?.responses?.['200'] as never },
    }
    expect(checker.check(op, { status: 200, contentType: 'application/json', text: '{"status":"ok"}' })).toBeNull()
    expect(checker.check(op, { status: 200, contentType: 'application/json', text: '{"status":1}' })).toContain('does not match')
    expect(checker.check(op, { status: 404, contentType: 'application/problem+json', text: '{}' })).toContain('not documented')
    expect(checker.check(op, { status: 500, contentType: 'application/problem+json', text: '{}' })).toContain('server error')
    const secured = { ...op, secured: true, responses: { ...op.responses, '401': {}, '403': {}, '422': {} } }
    expect(checker.check(secured, { status: 422, contentType: '', text: '' }, 'anonymous')).toContain('not 401')
    expect(checker.check(secured, { status: 422, contentType: '', text: '' }, 'customer')).toContain('not 403')
    expect(checker.check(secured, { status: 401, contentType: '', text: '' }, 'anonymous')).toBeNull()
  })

  test(`${COUNT} generated requests (seed ${SEED}) keep the documented contract`, async () => {
    const report = await fuzz(doc, send, fx, { seed: SEED, count: COUNT, concurrency: 4 })
    const lines = report.failures.map(describeFailure)
    console.log(`statuses: ${JSON.stringify(report.byStatus)}; unsendable: ${report.unsendable}`)
    if (lines.length) console.error(`${lines.length} of ${report.requests} requests broke the contract:\n${lines.join('\n')}`)
    expect(report.requests).toBeGreaterThanOrEqual(COUNT * 0.95)
    // Every operation was reached, and reached past authentication and validation sometimes.
    expect(Object.keys(report.byOperation).length).toBeGreaterThan(25)
    expect(report.byStatus['200'] ?? 0).toBeGreaterThan(0)
    expect(lines).toEqual([])
  }, 120_000)
})
