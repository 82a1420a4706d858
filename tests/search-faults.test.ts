// Search degradation (seed 004), each scenario with a real fault and its fallback asserted:
//  3. vector index missing / corrupt (checksum) at start and at reload → keyword-only, /ready
//     `degraded` with the reason, a rebuild job queued (and the queued job, run by a real worker,
//     brings semantic search back);
//  1. ranking stage over its time budget (its rules read blocked by a held lock) → popularity order;
//  2. Redis down (our own redis-server, killed) behind a real API process → still served.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { Queue, QueueEvents, Worker } from 'bullmq'
import { sql } from 'drizzle-orm'
import postgres from 'postgres'
import { type Concept, plantSearchConcepts } from '../db/seed/search-concepts'
import { processSearch } from '../jobs/processors/search'
import { buildSearchIndex } from '../jobs/search/build'
import { config } from '../src/config'
import { db, sql as pg } from '../src/infra/db'
import { tcpReachable } from '../src/infra/embedded'
import { createRedis } from '../src/infra/redis'
import { indexState, refresh, stopIndex } from '../src/modules/search/index-state'
import { type ApiProcess, freePort, req, startApi } from './helpers'

const tag = Math.random().toString(36).slice(2, 7).replace(/\d/g, 'y')
const CONCEPTS: Concept[] = [
  {
    key: 'a',
    noun: `Vorlish${tag}`,
    context: [`mabbet${tag}`, `prinzel${tag}`, `ostrag${tag}`, `wumble${tag}`],
    synonyms: [`droffin${tag}`],
  },
  {
    key: 'b',
    noun: `Kellaby${tag}`,
    context: [`spindor${tag}`, `galvik${tag}`, `trumble${tag}`, `yessar${tag}`],
    synonyms: [`fennick${tag}`],
  },
]
const Q = `droffin${tag}`
/** Every product of concept a has it in its name: plenty of candidates to order. */
const NOUN = `vorlish${tag}`
const ids = (r: { body: { items: { id: string }[] } }) => r.body.items.map((i) => i.id)
const saved = { SEARCH_RANKING_BUDGET_MS: config.SEARCH_RANKING_BUDGET_MS, SEARCH_SEMANTIC_BUDGET_MS: config.SEARCH_SEMANTIC_BUDGET_MS }

async function queuedBuilds(): Promise<number> {
  const conn = createRedis('producer')
  const q = new Queue('search', { connection: conn, prefix: config.REDIS_PREFIX })
  try {
    // Requested rebuilds only: the nightly scheduler's next job (another file's worker may have
    // registered it) is a build-index job too, with no reason.
    const jobs = await q.getJobs(['waiting', 'delayed', 'prioritized', 'active'])
    return jobs.filter((j) => j.name === 'build-index' && String(j.data?.reason ?? '').startsWith('semantic index')).length
  } finally {
    await q.close()
    conn.disconnect()
  }
}

async function drainQueuedBuilds(): Promise<void> {
  const conn = createRedis('producer')
  const q = new Queue('search', { connection: conn, prefix: config.REDIS_PREFIX })
  await q.drain(true)
  await q.close()
  conn.disconnect()
}

async function ready() {
  const r = await req('GET', '/ready')
  return r.body as { status: string; degraded: string[] }
}

beforeAll(async () => {
  Object.assign(config, { SEARCH_RANKING_BUDGET_MS: 5000, SEARCH_SEMANTIC_BUDGET_MS: 5000 })
  await stopIndex()
  await db.execute(sql`delete from search_index_versions`)
  await drainQueuedBuilds()
  await plantSearchConcepts(pg, { perConcept: 30, seed: 5, exact: 0, concepts: CONCEPTS })
})

afterAll(async () => {
  Object.assign(config, saved)
  await stopIndex()
  await db.execute(sql`delete from search_index_versions`)
  await drainQueuedBuilds()
})

describe('scenario 3: vector index missing or corrupt', () => {
  test('missing at start → keyword-only, /ready degraded with the reason, one rebuild queued; the job brings it back', async () => {
    await refresh()
    expect(indexState().status).toBe('missing')
    const r = await req('GET', `/api/v1/products?q=${Q}`)
    expect(r.status).toBe(200)
    expect(r.body.searchMode).toBe('keyword')
    expect(r.headers.get('x-search-mode')).toBe('keyword')
    expect(r.body.degraded.join(' ')).toContain('semantic index missing')
    const rd = await ready()
    expect(rd.status).toBe('degraded')
    expect(rd.degraded.join(' ')).toContain('semantic index missing')
    expect(await queuedBuilds()).toBe(1)

    // A real worker runs the queued job; the next refresh loads its version.
    const conn = createRedis('worker')
    const events = new QueueEvents('search', { connection: createRedis('worker'), prefix: config.REDIS_PREFIX })
    await events.waitUntilReady()
    const done = new Promise<void>((ok, fail) => {
      events.on('completed', () => ok())
      events.on('failed', ({ failedReason }) => fail(new Error(failedReason)))
    })
    const worker = new Worker('search', processSearch as never, { connection: conn, prefix: config.REDIS_PREFIX })
    try {
      await done
    } finally {
      await worker.close()
      await events.close()
    }
    await refresh()
    expect(indexState().status).toBe('ready')
    expect((await ready()).degraded.join(' ')).not.toContain('semantic')
    const after = await req('GET', `/api/v1/products?q=${Q}`)
    expect(after.body.searchMode).toBe('hybrid')
  }, 60_000)

  test('corrupt at reload (a new version whose bytes fail the checksum) → keyword-only, degraded, rebuild queued', async () => {
    expect(indexState().status).toBe('ready')
    await db.execute(sql`
      insert into search_index_versions (provider, dims, doc_count, checksum, model, ids, vectors, ann, build_ms)
      select provider, dims, doc_count, checksum, model, ids, overlay(vectors placing '\\xff'::bytea from 9 for 1), ann, build_ms
      from search_index_versions order by version desc limit 1`)
    await refresh()
    expect(indexState().status).toBe('corrupt')
    const r = await req('GET', `/api/v1/products?q=${Q}`)
    expect(r.body.searchMode).toBe('keyword')
    expect(r.body.degraded.join(' ')).toContain('checksum mismatch')
    expect((await ready()).degraded.join(' ')).toContain('semantic index corrupt')
    expect(await queuedBuilds()).toBe(1)
    await drainQueuedBuilds()
  })

  test('corrupt at start (the only version damaged in place) → keyword-only', async () => {
    await db.execute(sql`delete from search_index_versions where version < (select max(version) from search_index_versions)`)
    await stopIndex()
    await refresh()
    expect(indexState().status).toBe('corrupt')
    expect((await req('GET', `/api/v1/products?q=${Q}&mode=semantic`)).body.searchMode).toBe('keyword')
    await drainQueuedBuilds()
    // A good build replaces it.
    await buildSearchIndex({ dims: 16 })
    await refresh()
    expect(indexState().status).toBe('ready')
  })
})

describe('scenario 1: ranking stage over its time budget', () => {
  test('its rules read is blocked by a held lock → candidates ordered by popularity, said in `degraded`', async () => {
    const holder = postgres(config.DATABASE_URL as string, { max: 1, onnotice: () => {} })
    config.SEARCH_RANKING_BUDGET_MS = 150
    let release: () => void = () => {}
    const held = new Promise<void>((ok) => {
      release = ok
    })
    let locked: () => void = () => {}
    const isLocked = new Promise<void>((ok) => {
      locked = ok
    })
    const tx = holder.begin(async (t) => {
      await t`lock table search_rules in access exclusive mode`
      locked()
      await held
    })
    try {
      await isLocked
      const r = await req('GET', `/api/v1/products?q=${NOUN}&limit=20`)
      expect(r.status).toBe(200)
      expect(r.body.searchMode).toBe('hybrid')
      expect(r.body.degraded).toContain('ranking_fallback')
      const items = r.body.items as { id: string; purchaseCount: number }[]
      expect(items.length).toBeGreaterThan(5)
      const expected = [...items].sort((a, b) => b.purchaseCount - a.purchaseCount || (a.id < b.id ? -1 : 1))
      expect(ids(r)).toEqual(expected.map((i) => i.id))
    } finally {
      release()
      await tx
      await holder.end()
      config.SEARCH_RANKING_BUDGET_MS = 5000
    }
    const ok = await req('GET', `/api/v1/products?q=${NOUN}&limit=20`)
    expect(ok.body.degraded).toEqual([])
  })
})

describe('scenario 2: Redis down', () => {
  let redisProc: Bun.Subprocess | null = null
  let api: ApiProcess | null = null
  afterAll(async () => {
    await api?.stop()
    redisProc?.kill()
  })

  test('a real API process keeps serving hybrid search after its redis-server is killed', async () => {
    const [v] = (await db.execute(sql`select count(*)::int as n from search_index_versions`)) as unknown as { n: number }[]
    if (!v?.n) await buildSearchIndex({ dims: 16 })
    const port = freePort()
    redisProc = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdout: 'ignore',
      stderr: 'ignore',
    })
    for (let i = 0; i < 50 && !(await tcpReachable('127.0.0.1', port)); i++) await Bun.sleep(50)
    api = await startApi({
      REDIS_URL: `redis://127.0.0.1:${port}`,
      REDIS_PREFIX: `${config.REDIS_PREFIX}-search-outage`,
      DATABASE_POOL_MAX: '3',
      WARMUP_ROUNDS: '0',
    })
    // startApi gives up waiting after 10 s; a loaded shared box can take longer to boot.
    for (let i = 0; i < 600; i++) {
      if (
        await fetch(`${api.url}/health`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break
      await Bun.sleep(50)
    }
    const search = async () => {
      const r = await fetch(`${api?.url}/api/v1/products?q=${Q}&limit=10`)
      return { status: r.status, body: (await r.json()) as { items: { id: string }[]; searchMode: string } }
    }
    // Readiness signal: /ready stops listing the semantic index once this process has loaded it.
    for (let i = 0; i < 200; i++) {
      await search()
      const rd = (await (await fetch(`${api.url}/ready`)).json()) as { degraded: string[] }
      if (!rd.degraded.some((d) => d.includes('semantic'))) break
      await Bun.sleep(50)
    }
    const before = await search()
    expect(before.status).toBe(200)
    expect(before.body.searchMode).toBe('hybrid')
    redisProc.kill()
    await redisProc.exited
    for (let i = 0; i < 3; i++) {
      const r = await search()
      expect(r.status).toBe(200)
      expect(r.body.searchMode).toBe('hybrid')
      expect(new Set(r.body.items.map((x) => x.id))).toEqual(new Set(before.body.items.map((x) => x.id)))
    }
  }, 60_000)
})
