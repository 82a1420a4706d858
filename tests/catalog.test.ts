// Catalog CRUD, admin guard, validation, categories (tree, cycles), reviews and aggregates.
import { beforeAll, describe, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { db } from '../src/infra/db'
import { encodeCursor } from '../src/lib/cursor'
import { recordPurchases } from '../src/modules/catalog/service'
import { createUser, req } from './helpers'

let admin: { id: string; token: string }
let customer: { id: string; token: string }

beforeAll(async () => {
  admin = await createUser('admin')
  customer = await createUser('customer')
})

const tag = () => Math.random().toString(36).slice(2, 8)

async function newCategory(name = `Cat ${tag()}`, parentId?: string) {
  const r = await req('POST', '/api/v1/categories', { token: admin.token, body: { name, ...(parentId ? { parentId } : {}) } })
  expect(r.status).toBe(201)
  return r.body as { id: string; name: string; parentId: string | null; depth: number; slug: string; path: string[] }
}

async function newProduct(body: Record<string, unknown> = {}) {
  const r = await req('POST', '/api/v1/products', {
    token: admin.token,
    body: { name: `Widget ${tag()}`, description: 'A fine widget', priceCents: 1999, initialStock: 5, ...body },
  })
  expect(r.status).toBe(201)
  return r.body as Record<string, unknown> & { id: string }
}

describe('products CRUD', () => {
  test('create → read → patch → soft delete', async () => {
    const cat = await newCategory()
    const p = await newProduct({ categoryId: cat.id, currency: 'EUR', initialStock: 7 })
    expect(p).toMatchObject({
      priceCents: 1999,
      currency: 'EUR',
      categoryId: cat.id,
      available: 7,
      ratingAvg: null,
      ratingCount: 0,
      purchaseCount: 0,
    })
    expect(Object.keys(p).sort()).toEqual(
      [
        'available',
        'brand',
        'categoryId',
        'createdAt',
        'currency',
        'description',
        'id',
        'name',
        'priceCents',
        'purchaseCount',
        'ratingAvg',
        'ratingCount',
        'updatedAt',
      ].sort(),
    )

    const got = await req('GET', `/api/v1/products/${p.id}`)
    expect(got.status).toBe(200)
    expect(got.body).toEqual(p)
    expect(got.headers.get('etag')).toBeTruthy()

    const patched = await req('PATCH', `/api/v1/products/${p.id}`, { token: admin.token, body: { priceCents: 2500, name: 'Renamed' } })
    expect(patched.status).toBe(200)
    expect(patched.body).toMatchObject({ priceCents: 2500, name: 'Renamed' })

    const del = await req('DELETE', `/api/v1/products/${p.id}`, { token: admin.token })
    expect(del.status).toBe(204)
    expect((await req('GET', `/api/v1/products/${p.id}`)).status).toBe(404)
    expect((await req('PATCH', `/api/v1/products/${p.id}`, { token: admin.token, body: { priceCents: 1 } })).status).toBe(404)
    expect((await req('DELETE', `/api/v1/products/${p.id}`, { token: admin.token })).status).toBe(404)
  })

  test('ETag + If-None-Match → 304; a changed product gets a new ETag', async () => {
    const p = await newProduct()
    const a = await req('GET', `/api/v1/products/${p.id}`)
    const etag = a.headers.get('etag') as string
    const b = await req('GET', `/api/v1/products/${p.id}`, { headers: { 'if-none-match': etag } })
    expect(b.status).toBe(304)
    expect(b.text).toBe('')
    await req('PATCH', `/api/v1/products/${p.id}`, { token: admin.token, body: { priceCents: 1 } })
    const c = await req('GET', `/api/v1/products/${p.id}`, { headers: { 'if-none-match': etag } })
    expect(c.status).toBe(200)
    expect(c.headers.get('etag')).not.toBe(etag)
  })

  test('unknown id → 404 problem, malformed id → 422 naming id', async () => {
    const unknown = await req('GET', `/api/v1/products/${Bun.randomUUIDv7()}`)
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get('content-type')).toContain('application/problem+json')
    const bad = await req('GET', '/api/v1/products/not-a-uuid')
    expect(bad.status).toBe(422)
    expect(JSON.stringify(bad.body.errors)).toContain('id')
  })

  test('admin guard: anonymous → 401, customer → 403', async () => {
    const body = { name: 'x', priceCents: 1 }
    expect((await req('POST', '/api/v1/products', { body })).status).toBe(401)
    expect((await req('POST', '/api/v1/products', { body, token: customer.token })).status).toBe(403)
    const p = await newProduct()
    expect((await req('PATCH', `/api/v1/products/${p.id}`, { body: { priceCents: 1 }, token: customer.token })).status).toBe(403)
    expect((await req('DELETE', `/api/v1/products/${p.id}`, { token: customer.token })).status).toBe(403)
    expect((await req('POST', '/api/v1/categories', { body: { name: 'c' }, token: customer.token })).status).toBe(403)
  })

  test.each([
    ['negative price', { name: 'x', priceCents: -1 }, 'priceCents'],
    ['empty name', { name: '', priceCents: 1 }, 'name'],
    ['blank name', { name: '   ', priceCents: 1 }, 'name'],
    ['unknown category', { name: 'x', priceCents: 1, categoryId: '0190c6b0-0000-7000-8000-000000000000' }, 'categoryId'],
    ['bad currency', { name: 'x', priceCents: 1, currency: 'usd' }, 'currency'],
    ['fractional price', { name: 'x', priceCents: 1.5 }, 'priceCents'],
  ])('validation: %s → 422 naming the field', async (_, body, field) => {
    const r = await req('POST', '/api/v1/products', { token: admin.token, body })
    expect(r.status).toBe(422)
    expect(r.headers.get('content-type')).toContain('application/problem+json')
    expect(r.body.errors.map((e: { field: string }) => e.field).join(' ')).toContain(field)
  })

  test('list validation: huge limit, bad sort, bad cursor, min > max → 422', async () => {
    for (const qs of ['limit=101', 'limit=0', 'sort=cheapest', 'cursor=garbage', 'minPriceCents=10&maxPriceCents=5', 'minPriceCents=-1']) {
      const r = await req('GET', `/api/v1/products?${qs}`)
      expect(r.status, qs).toBe(422)
    }
    const forged = Buffer.from(
      JSON.stringify(['1; drop table products', Bun.randomUUIDv7(), 'rank', 'none', new Date().toISOString(), 0]),
    ).toString('base64url')
    expect((await req('GET', `/api/v1/products?cursor=${forged}`)).status).toBe(422)
    // Keys that JavaScript reads as numbers but Postgres does not take as float8.
    for (const k of ['', ' ', '0x10', '1e999', 'Infinity']) {
      const key = encodeCursor([k, Bun.randomUUIDv7(), 'rank', 'none', new Date().toISOString(), 0])
      const r = await req('GET', `/api/v1/products?cursor=${key}`)
      expect(r.status, JSON.stringify(k)).toBe(422)
      expect(r.body.errors[0].field).toBe('query.cursor')
    }
  })
})

describe('categories', () => {
  test('tree with depth; descendants included in the product filter', async () => {
    const root = await newCategory()
    const child = await newCategory(`Child ${tag()}`, root.id)
    const grandchild = await newCategory(`Grandchild ${tag()}`, child.id)
    expect(grandchild.depth).toBe(2)
    const inGrand = await newProduct({ categoryId: grandchild.id })
    const inRoot = await newProduct({ categoryId: root.id })
    const other = await newProduct()
    const list = await req('GET', `/api/v1/products?categoryId=${root.id}&limit=100`)
    const ids = list.body.items.map((p: { id: string }) => p.id)
    expect(ids).toContain(inGrand.id)
    expect(ids).toContain(inRoot.id)
    expect(ids).not.toContain(other.id)
    const onlyChild = await req('GET', `/api/v1/products?categoryId=${child.id}&limit=100`)
    expect(onlyChild.body.items.map((p: { id: string }) => p.id)).toEqual([inGrand.id])

    const tree = await req('GET', '/api/v1/categories')
    const idx = (id: string) => tree.body.items.findIndex((c: { id: string }) => c.id === id)
    expect(idx(root.id)).toBeLessThan(idx(child.id))
    expect(idx(child.id)).toBeLessThan(idx(grandchild.id))
  })

  test('GET /categories: flat depth-first with parentId, depth and path, or nested with ?format=tree; no pagination', async () => {
    const root = await newCategory(`Tree ${tag()}`)
    const b = await newCategory(`B ${tag()}`, root.id)
    const a = await newCategory(`A ${tag()}`, root.id)
    const a1 = await newCategory(`A1 ${tag()}`, a.id)
    expect(a1).toMatchObject({ depth: 2, path: [root.slug, a.slug, a1.slug] })

    const flat = await req('GET', '/api/v1/categories')
    expect([flat.status, flat.body.format]).toEqual([200, 'flat'])
    const mine = flat.body.items.filter((c: { path: string[] }) => c.path[0] === root.slug)
    // Depth-first: a parent before its children, siblings by name (A before B, A's child before B).
    expect(
      mine.map((c: { id: string; parentId: string | null; depth: number; path: string[] }) => [c.id, c.parentId, c.depth, c.path]),
    ).toEqual([
      [root.id, null, 0, [root.slug]],
      [a.id, root.id, 1, [root.slug, a.slug]],
      [a1.id, a.id, 2, [root.slug, a.slug, a1.slug]],
      [b.id, root.id, 1, [root.slug, b.slug]],
    ])
    // The whole tree, every time: as many categories as the table holds.
    const [{ n }] = (await db.execute(sql`select count(*)::int as n from categories`)) as unknown as [{ n: number }]
    expect(flat.body.items).toHaveLength(n)

    const nested = await req('GET', '/api/v1/categories?format=tree')
    expect([nested.status, nested.body.format]).toEqual([200, 'tree'])
    const node = nested.body.items.find((c: { id: string }) => c.id === root.id)
    type Node = { id: string; depth: number; children: Node[] }
    const shape = (x: Node): unknown => [x.id, x.depth, x.children.map(shape)]
    expect(shape(node)).toEqual([
      root.id,
      0,
      [
        [a.id, 1, [[a1.id, 2, []]]],
        [b.id, 1, []],
      ],
    ])
    expect(nested.body.items.every((c: { parentId: string | null }) => c.parentId === null)).toBe(true)

    // A partial tree is not a tree: paging parameters (and anything unknown) are refused, naming them.
    for (const [query, field] of [
      ['limit=2', 'limit'],
      ['cursor=x', 'cursor'],
      ['format=xml', 'format'],
    ]) {
      const r = await req('GET', `/api/v1/categories?${query}`)
      expect([query, r.status, r.headers.get('content-type')?.includes('problem+json')]).toEqual([query, 422, true])
      expect(JSON.stringify(r.body.errors)).toContain(field!)
    }
  })

  test('no cycles: own parent or own descendant → 409 category_cycle', async () => {
    const a = await newCategory()
    const b = await newCategory(undefined, a.id)
    const c = await newCategory(undefined, b.id)
    const self = await req('PATCH', `/api/v1/categories/${a.id}`, { token: admin.token, body: { parentId: a.id } })
    expect(self.status).toBe(409)
    expect(self.body.code).toBe('category_cycle')
    const loop = await req('PATCH', `/api/v1/categories/${a.id}`, { token: admin.token, body: { parentId: c.id } })
    expect(loop.status).toBe(409)
    expect(loop.body.code).toBe('category_cycle')
    // Concurrent opposite moves: at most one can win.
    const x = await newCategory()
    const y = await newCategory()
    const [r1, r2] = await Promise.all([
      req('PATCH', `/api/v1/categories/${x.id}`, { token: admin.token, body: { parentId: y.id } }),
      req('PATCH', `/api/v1/categories/${y.id}`, { token: admin.token, body: { parentId: x.id } }),
    ])
    expect([r1.status, r2.status].sort()).toEqual([200, 409])
    // Moving to a legal place works.
    const ok = await req('PATCH', `/api/v1/categories/${c.id}`, { token: admin.token, body: { parentId: null } })
    expect(ok.status).toBe(200)
    expect(ok.body).toMatchObject({ parentId: null, depth: 0 })
  })

  test('rename flows into search; delete refuses non-empty; slug conflicts → 409', async () => {
    const word = `zq${tag()}`
    const cat = await newCategory()
    const p = await newProduct({ categoryId: cat.id })
    expect((await req('PATCH', `/api/v1/categories/${cat.id}`, { token: admin.token, body: { name: `Gadgets ${word}` } })).status).toBe(200)
    const found = await req('GET', `/api/v1/products?q=${word}`)
    expect(found.body.items.map((i: { id: string }) => i.id)).toEqual([p.id])

    const del = await req('DELETE', `/api/v1/categories/${cat.id}`, { token: admin.token })
    expect(del.status).toBe(409)
    expect(del.body.code).toBe('category_not_empty')
    const dup = await req('POST', '/api/v1/categories', { token: admin.token, body: { name: 'dup', slug: cat.slug } })
    expect(dup.status).toBe(409)
    const empty = await newCategory()
    expect((await req('DELETE', `/api/v1/categories/${empty.id}`, { token: admin.token })).status).toBe(204)
    expect((await req('DELETE', `/api/v1/categories/${empty.id}`, { token: admin.token })).status).toBe(404)
  })
})

describe('reviews', () => {
  test('one per user (409), aggregates exact, verifiedPurchase false without orders, cache sees the new rating', async () => {
    const p = await newProduct()
    await req('GET', `/api/v1/products/${p.id}`) // warm the cache
    const u1 = await createUser()
    const r1 = await req('POST', `/api/v1/products/${p.id}/reviews`, { token: u1.token, body: { rating: 5, title: 'Great' } })
    expect(r1.status).toBe(201)
    expect(r1.body).toMatchObject({ rating: 5, verifiedPurchase: false, userId: u1.id })
    const again = await req('POST', `/api/v1/products/${p.id}/reviews`, { token: u1.token, body: { rating: 1 } })
    expect(again.status).toBe(409)
    expect(again.body.code).toBe('review_exists')
    const after = await req('GET', `/api/v1/products/${p.id}`)
    expect(after.body).toMatchObject({ ratingCount: 1, ratingAvg: 5 })
  })

  test('concurrent reviews keep rating_count / rating_sum exact', async () => {
    const p = await newProduct()
    const users = await Promise.all(Array.from({ length: 20 }, () => createUser()))
    const results = await Promise.all(
      users.map((u, i) => req('POST', `/api/v1/products/${p.id}/reviews`, { token: u.token, body: { rating: (i % 5) + 1 } })),
    )
    expect(results.every((r) => r.status === 201)).toBe(true)
    // The same user twice at once: exactly one wins.
    const dup = await Promise.all(
      [0, 1].map(() => req('POST', `/api/v1/products/${p.id}/reviews`, { token: users[0]!.token, body: { rating: 1 } })),
    )
    expect(dup.map((r) => r.status)).toEqual([409, 409])
    const [row] = await db.execute<{ rating_count: number; rating_sum: number }>(
      sql`select rating_count, rating_sum from products where id = ${p.id}`,
    )
    expect(row).toEqual({ rating_count: 20, rating_sum: 60 })
    const got = await req('GET', `/api/v1/products/${p.id}`)
    expect(got.body).toMatchObject({ ratingCount: 20, ratingAvg: 3 })
  })

  test('validation, auth, unknown product, pagination', async () => {
    const p = await newProduct()
    expect((await req('POST', `/api/v1/products/${p.id}/reviews`, { body: { rating: 5 } })).status).toBe(401)
    for (const rating of [0, 6, 3.5]) {
      const r = await req('POST', `/api/v1/products/${p.id}/reviews`, { token: customer.token, body: { rating } })
      expect(r.status).toBe(422)
    }
    const missing = await req('POST', `/api/v1/products/${Bun.randomUUIDv7()}/reviews`, { token: customer.token, body: { rating: 4 } })
    expect(missing.status).toBe(404)
    for (let i = 0; i < 5; i++) {
      const u = await createUser()
      await req('POST', `/api/v1/products/${p.id}/reviews`, { token: u.token, body: { rating: 4, body: `review ${i}` } })
    }
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: any = await req('GET', `/api/v1/products/${p.id}/reviews?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      expect(page.status).toBe(200)
      seen.push(...page.body.items.map((r: { id: string }) => r.id))
      cursor = page.body.nextCursor
    } while (cursor)
    expect(seen).toHaveLength(5)
    expect(new Set(seen).size).toBe(5)
    expect((await req('GET', `/api/v1/products/${Bun.randomUUIDv7()}/reviews`)).status).toBe(404)
  })
})

describe('recordPurchases', () => {
  test('adds quantities (merging duplicate lines) inside the caller transaction', async () => {
    const p = await newProduct()
    const ids = await db.transaction((tx) =>
      recordPurchases(tx, [
        { productId: p.id, quantity: 2 },
        { productId: p.id, quantity: 3 },
      ]),
    )
    expect(ids).toEqual([p.id])
    const { invalidateProduct } = await import('../src/modules/catalog/cache')
    await invalidateProduct(...ids)
    expect((await req('GET', `/api/v1/products/${p.id}`)).body.purchaseCount).toBe(5)
  })
})

describe('hasPurchased (verifiedPurchase)', () => {
  test('false while orders tables do not exist; true for a paid order once they do', async () => {
    const { hasPurchased } = await import('../src/modules/orders/purchases')
    const u = await createUser()
    const p = await newProduct()
    expect(await hasPurchased(db, u.id, p.id)).toBe(false)
    // Stand-in orders tables in a private schema (the orders module owns the real ones).
    const schema = `purchases_${tag()}`
    await db.execute(sql.raw(`create schema ${schema}`))
    try {
      const verdict = await db.transaction(async (tx) => {
        await tx.execute(sql.raw(`set local search_path = ${schema}, public`))
        await tx.execute(sql.raw('create table orders (id uuid primary key, user_id uuid not null, status text not null)'))
        await tx.execute(sql.raw('create table order_items (order_id uuid not null, product_id uuid not null)'))
        const orderId = Bun.randomUUIDv7()
        await tx.execute(sql`insert into orders values (${orderId}, ${u.id}, 'pending')`)
        await tx.execute(sql`insert into order_items values (${orderId}, ${p.id})`)
        const unpaid = await hasPurchased(tx, u.id, p.id)
        await tx.execute(sql`update orders set status = 'paid' where id = ${orderId}`)
        return [unpaid, await hasPurchased(tx, u.id, p.id)]
      })
      expect(verdict).toEqual([false, true])
    } finally {
      await db.execute(sql.raw(`drop schema ${schema} cascade`))
    }
  })
})

describe('OpenAPI', () => {
  test('every catalog route is tagged, summarised, and documents its error responses', async () => {
    const spec = (await req('GET', '/swagger/json')).body
    const routes = Object.entries(spec.paths as Record<string, Record<string, any>>).filter(
      ([path]) => /^\/api\/v1\/(products|categories)/.test(path) && !/\/(also-bought|similar)$/.test(path),
    )
    expect(routes.length).toBeGreaterThanOrEqual(6)
    for (const [path, ops] of routes) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.tags, `${method} ${path}`).toContain('catalog')
        expect(op.summary, `${method} ${path}`).toBeTruthy()
        // Only the two parameterless public reads have no client error to document.
        const noClientErrors = method === 'get' && (path === '/api/v1/categories' || path === '/api/v1/products/featured')
        if (!noClientErrors)
          expect(
            Object.keys(op.responses ?? {}).some((s) => s.startsWith('4')),
            `${method} ${path}`,
          ).toBe(true)
      }
    }
  })
})

describe('featured', () => {
  test('top products by rank, cached, with ETag / 304', async () => {
    const p = await newProduct()
    await db.execute(sql`update products set purchase_count = 1000000 where id = ${p.id}`)
    // Purchases alone do not retire the cached list (it lags by its TTL); a catalog write does.
    await req('PATCH', `/api/v1/products/${p.id}`, { token: admin.token, body: { description: 'best seller' } })
    const r = await req('GET', '/api/v1/products/featured')
    expect(r.status).toBe(200)
    expect(r.body.items[0].id).toBe(p.id)
    expect(r.body.items.length).toBeLessThanOrEqual(12)
    const again = await req('GET', '/api/v1/products/featured', { headers: { 'if-none-match': r.headers.get('etag') as string } })
    expect(again.status).toBe(304)
  })
})
