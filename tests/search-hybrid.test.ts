// Hybrid search end to end over the real app: planted concept products, the index built by the
// job's code and loaded by the API's, retrieval per mode (and the mode reported), fusion, the
// ranking rules, product changes reaching the index, clicks, analytics, audit, reindex.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { sql } from 'drizzle-orm'
import { type Concept, plantSearchConcepts } from '../db/seed/search-concepts'
import { buildSearchIndex } from '../jobs/search/build'
import { config } from '../src/config'
import { db, sql as pg } from '../src/infra/db'
import { flushSearchLog } from '../src/modules/catalog/search'
import { productsInOpenSales } from '../src/modules/sales/service'
import { SearchBreaker } from '../src/modules/search/breaker'
import { indexState, refresh, stopIndex } from '../src/modules/search/index-state'
import { searchBreakers, setSaleLookup } from '../src/modules/search/service'
import { createUser, req } from './helpers'

const tag = Math.random().toString(36).slice(2, 7).replace(/\d/g, 'x')
// Made-up vocabulary (tagged) so other test files' products neither match nor get matched.
const CONCEPTS: Concept[] = [
  {
    key: 'a',
    noun: `Qorvane${tag}`,
    context: [`plimsor${tag}`, `dravic${tag}`, `skelbo${tag}`, `wintrel${tag}`],
    synonyms: [`hushpad${tag}`],
  },
  {
    key: 'b',
    noun: `Zentrix${tag}`,
    context: [`morlag${tag}`, `quibber${tag}`, `tanvel${tag}`, `yorpen${tag}`],
    synonyms: [`blintor${tag}`],
  },
  {
    key: 'c',
    noun: `Fenwold${tag}`,
    context: [`crastle${tag}`, `huvven${tag}`, `joskar${tag}`, `nebbit${tag}`],
    synonyms: [`glimmet${tag}`],
  },
]
let admin: { token: string }
let planted: Awaited<ReturnType<typeof plantSearchConcepts>>
const conceptOf = (q: string) => planted.queries.find((x) => x.q === q)?.relevant as string[]
const ids = (r: { body: { items: { id: string }[] } }) => r.body.items.map((i) => i.id)
const textHas = async (id: string, word: string) => {
  const [row] = (await db.execute(
    sql`select (name || ' ' || description) ilike ${`%${word}%`} as has from products where id = ${id}`,
  )) as unknown as { has: boolean }[]
  return row?.has === true
}

// Budgets generous enough for a loaded shared box: this file tests results, not fallbacks.
const saved = { SEARCH_RANKING_BUDGET_MS: config.SEARCH_RANKING_BUDGET_MS, SEARCH_SEMANTIC_BUDGET_MS: config.SEARCH_SEMANTIC_BUDGET_MS }

beforeAll(async () => {
  Object.assign(config, { SEARCH_RANKING_BUDGET_MS: 5000, SEARCH_SEMANTIC_BUDGET_MS: 5000 })
  admin = await createUser('admin')
  planted = await plantSearchConcepts(pg, { perConcept: 40, seed: 11, exact: 5, concepts: CONCEPTS })
  await buildSearchIndex({ dims: 16 })
  await refresh()
  expect(indexState().status).toBe('ready')
})

afterAll(async () => {
  Object.assign(config, saved)
  await stopIndex()
  // Later test files expect keyword behaviour on their own made-up words; leave no index behind.
  await db.execute(sql`delete from search_index_versions`)
})

describe('retrieval per mode', () => {
  test('keyword finds only products that say the word; semantic finds the concept; hybrid has both, and says so', async () => {
    const q = `hushpad${tag}`
    const relevant = new Set(conceptOf(q))
    const kw = await req('GET', `/api/v1/products?q=${q}&mode=keyword&limit=10`)
    expect(kw.status).toBe(200)
    expect(kw.body.searchMode).toBe('keyword')
    expect(kw.headers.get('x-search-mode')).toBe('keyword')
    for (const id of ids(kw)) expect(await textHas(id, q)).toBe(true)

    const sem = await req('GET', `/api/v1/products?q=${q}&mode=semantic&limit=10`)
    expect(sem.body.searchMode).toBe('semantic')
    expect(ids(sem).filter((id) => relevant.has(id)).length).toBeGreaterThanOrEqual(8)

    const hy = await req('GET', `/api/v1/products?q=${q}&limit=10`)
    expect(hy.body.searchMode).toBe('hybrid')
    expect(hy.headers.get('x-search-mode')).toBe('hybrid')
    expect(hy.body.searchId).toMatch(/^[0-9a-f-]{36}$/)
    const top = ids(hy)
    // Every keyword hit is kept, and the rest of the page is filled from the concept.
    for (const id of ids(kw)) expect(top).toContain(id)
    expect(top.filter((id) => relevant.has(id)).length).toBeGreaterThanOrEqual(8)
    expect(ids(kw).length).toBeLessThan(top.filter((id) => relevant.has(id)).length)
  })

  test('an exact full-name search stays keyword-first (the name has a code the model never learned)', async () => {
    const exact = planted.queries.filter((x) => x.kind === 'exact')
    for (const e of exact) {
      const r = await req('GET', `/api/v1/products?q=${encodeURIComponent(e.q)}&limit=10`)
      expect(ids(r)[0]).toBe(e.relevant[0] as string)
      expect(r.body.searchMode).toBe('keyword')
    }
  })

  test('hybrid pages: next cursor gives the next slice, no repeats', async () => {
    const q = `blintor${tag}`
    const p1 = await req('GET', `/api/v1/products?q=${q}&limit=5`)
    expect(p1.body.nextCursor).not.toBeNull()
    const p2 = await req('GET', `/api/v1/products?q=${q}&limit=5&cursor=${p1.body.nextCursor}`)
    expect(p2.status).toBe(200)
    expect(p2.body.searchId).toBe(p1.body.searchId)
    expect(ids(p2).some((id) => ids(p1).includes(id))).toBe(false)
    const bad = await req('GET', `/api/v1/products?q=${q}&cursor=${Buffer.from('["rs",-1,"x"]').toString('base64url')}`)
    expect(bad.status).toBe(422)
    expect(JSON.stringify(bad.body)).toContain('cursor')
  })

  test('filters apply to semantic candidates too', async () => {
    const q = `glimmet${tag}`
    const r = await req('GET', `/api/v1/products?q=${q}&mode=semantic&maxPriceCents=10000&limit=20`)
    expect(r.status).toBe(200)
    for (const p of r.body.items as { priceCents: number }[]) expect(p.priceCents).toBeLessThanOrEqual(10000)
  })

  test('mode is validated', async () => {
    const r = await req('GET', '/api/v1/products?q=x&mode=vector')
    expect(r.status).toBe(422)
    expect(JSON.stringify(r.body)).toContain('mode')
  })
})

describe('circuit breakers on the search path', () => {
  test('semantic circuit open → served keyword-only, the reason in `degraded`; closed again → hybrid', async () => {
    const q = `hushpad${tag}`
    const original = searchBreakers.semantic
    const b = new SearchBreaker('search-semantic')
    searchBreakers.semantic = b
    try {
      for (let i = 0; i < 12; i++) await b.run(() => Promise.reject(new Error('vector index failing'))).catch(() => {})
      expect(b.state).toBe('open')
      const r = await req('GET', `/api/v1/products?q=${q}`)
      expect(r.status).toBe(200)
      expect(r.body.searchMode).toBe('keyword')
      expect(r.body.degraded).toEqual(['semantic_failed: search-semantic circuit open'])
    } finally {
      searchBreakers.semantic = original
    }
    expect((await req('GET', `/api/v1/products?q=${q}`)).body.searchMode).toBe('hybrid')
  })
})

describe('live sale highlight', () => {
  test('products the registered sale lookup names are listed in `highlighted`', async () => {
    const q = `hushpad${tag}`
    const first = await req('GET', `/api/v1/products?q=${q}&limit=10`)
    expect(first.body.highlighted).toEqual([])
    const onSale = ids(first).slice(0, 2)
    setSaleLookup(async (asked) => new Set(asked.filter((id) => onSale.includes(id))))
    try {
      const r = await req('GET', `/api/v1/products?q=${q}&limit=10`)
      expect([...r.body.highlighted].sort()).toEqual([...onSale].sort())
    } finally {
      setSaleLookup(productsInOpenSales)
    }
  })

  test('the sales module registers its lookup: a product with an open sale is highlighted', async () => {
    const q = `hushpad${tag}`
    const [target] = ids(await req('GET', `/api/v1/products?q=${q}&limit=10`))
    const [sale] = (await db.execute(sql`
      insert into sales (id, product_id, sale_price_cents, starts_at, ends_at, per_customer_limit)
      values (${Bun.randomUUIDv7()}, ${target}, 100, now() - interval '1 minute', now() + interval '1 hour', 1) returning id`)) as unknown as {
      id: string
    }[]
    try {
      expect((await req('GET', `/api/v1/products?q=${q}&limit=10`)).body.highlighted).toEqual([target])
      await db.execute(sql`update sales set state = 'cancelled' where id = ${sale!.id}`)
      expect((await req('GET', `/api/v1/products?q=${q}&limit=10`)).body.highlighted).toEqual([])
    } finally {
      await db.execute(sql`delete from sales where id = ${sale!.id}`)
    }
  })
})

describe('ranking rules', () => {
  test('PUT rules: a pin takes its place, a demotion sinks; bad rules → 422 naming the field', async () => {
    const q = `hushpad${tag}`
    const before = ids(await req('GET', `/api/v1/products?q=${q}&limit=10`))
    const outsider = conceptOf(`blintor${tag}`)[0] as string
    const put = await req('PUT', '/api/v1/admin/search/rules', {
      token: admin.token,
      body: {
        rules: [
          { query: q.toUpperCase(), productId: outsider, action: 'pin', position: 1 },
          { query: q, productId: before[0], action: 'demote', weight: 5 },
        ],
      },
    })
    expect(put.status).toBe(200)
    expect(put.body.rules).toHaveLength(2)
    const res = await req('GET', `/api/v1/products?q=${q}&limit=10`)
    expect(res.body.degraded).toEqual([])
    const after = ids(res)
    expect(after[0]).toBe(outsider)
    expect(after.indexOf(before[0] as string)).not.toBe(1)

    const bad = await req('PUT', '/api/v1/admin/search/rules', {
      token: admin.token,
      body: { rules: [{ query: null, productId: outsider, action: 'pin', weight: 1 }] },
    })
    expect(bad.status).toBe(422)
    expect(JSON.stringify(bad.body)).toContain('body.rules.0')
    const unknown = await req('PUT', '/api/v1/admin/search/rules', {
      token: admin.token,
      body: { rules: [{ query: null, productId: '00000000-0000-7000-8000-000000000000', action: 'boost', weight: 1 }] },
    })
    expect(unknown.status).toBe(422)
    // The failed replacements changed nothing.
    expect((await req('GET', '/api/v1/admin/search/rules', { token: admin.token })).body.rules).toHaveLength(2)
    expect((await req('PUT', '/api/v1/admin/search/rules', { body: { rules: [] } })).status).toBe(401)
    await req('PUT', '/api/v1/admin/search/rules', { token: admin.token, body: { rules: [] } })
  })
})

describe('index freshness', () => {
  test('a new and a deleted product reach semantic search on the next refresh', async () => {
    const q = `glimmet${tag}`
    const created = await req('POST', '/api/v1/products', {
      token: admin.token,
      body: { name: `Fenwold${tag} Special`, description: `crastle${tag} huvven${tag} joskar${tag} glimmet${tag}`, priceCents: 100 },
    })
    expect(created.status).toBe(201)
    await refresh()
    expect(ids(await req('GET', `/api/v1/products?q=${q}&mode=semantic&limit=50`))).toContain(created.body.id)
    expect((await req('DELETE', `/api/v1/products/${created.body.id}`, { token: admin.token })).status).toBe(204)
    await refresh()
    expect(ids(await req('GET', `/api/v1/products?q=${q}&mode=semantic&limit=50`))).not.toContain(created.body.id)
  })

  test('POST /admin/search/reindex → 202 with a job', async () => {
    const r = await req('POST', '/api/v1/admin/search/reindex', { token: admin.token })
    expect(r.status).toBe(202)
    expect(r.body).toMatchObject({ status: 'queued', jobId: 'search-build-index' })
    expect((await req('POST', '/api/v1/admin/search/reindex')).status).toBe(401)
  })
})

describe('analytics', () => {
  test('clicks: recorded against a searchId; unknown searchId → 422', async () => {
    const q = `blintor${tag}`
    const s = await req('GET', `/api/v1/products?q=${q}&limit=5`)
    const first = ids(s)[0] as string
    const click = await req('POST', '/api/v1/search/clicks', { body: { searchId: s.body.searchId, productId: first, position: 1 } })
    expect(click.status).toBe(204)
    const unknown = await req('POST', '/api/v1/search/clicks', {
      body: { searchId: '00000000-0000-7000-8000-000000000000', productId: first, position: 1 },
    })
    expect(unknown.status).toBe(422)
    expect(JSON.stringify(unknown.body)).toContain('searchId')
    const badPos = await req('POST', '/api/v1/search/clicks', { body: { searchId: s.body.searchId, productId: first, position: 0 } })
    expect(badPos.status).toBe(422)

    const zero = `nothingmatches${tag}qq`
    await req('GET', `/api/v1/products?q=${zero}`)
    await flushSearchLog()
    const a = await req('GET', '/api/v1/admin/search/analytics?window=1h&limit=100', { token: admin.token })
    expect(a.status).toBe(200)
    const stat = (a.body.topQueries as { query: string; clicks: number; clickThroughRate: number; meanClickedPosition: number }[]).find(
      (x) => x.query === q,
    )
    expect(stat?.clicks).toBe(1)
    expect(stat?.meanClickedPosition).toBe(1)
    expect(stat?.clickThroughRate).toBeGreaterThan(0)
    expect((a.body.zeroResultQueries as { query: string }[]).map((z) => z.query)).toContain(zero)
    expect(a.body.latencyMs.p95).toBeGreaterThan(0)
    expect(a.body.modes.hybrid).toBeGreaterThan(0)
    expect((await req('GET', '/api/v1/admin/search/analytics?window=forever', { token: admin.token })).status).toBe(422)
  })

  test('audit log: filtered by actor and action', async () => {
    const target = await createUser('customer')
    const me = await createUser('admin')
    expect((await req('PATCH', `/api/v1/admin/users/${target.id}`, { token: me.token, body: { role: 'admin' } })).status).toBe(200)
    const r = await req('GET', `/api/v1/admin/audit?actor=${target.id}&action=role_change`, { token: admin.token })
    expect(r.status).toBe(200)
    expect(r.body.items).toHaveLength(1)
    expect(r.body.items[0]).toMatchObject({ action: 'role_change', actor: target.id })
    const none = await req('GET', `/api/v1/admin/audit?actor=${target.id}&to=2000-01-01T00:00:00Z`, { token: admin.token })
    expect(none.body.items).toHaveLength(0)
    expect((await req('GET', '/api/v1/admin/audit?from=yesterday', { token: admin.token })).status).toBe(422)
  })
})
