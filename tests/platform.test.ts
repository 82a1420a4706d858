import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../src/config'
import { createUser, freePort, req, startApi, tokenFor } from './helpers'

describe('config', () => {
  test('defaults are valid', () => {
    const c = loadConfig({})
    expect(c.PORT).toBe(3000)
    expect(c.ROLE).toBe('all')
    expect(c.WEB_CONCURRENCY).toBe(1)
  })
  test.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['ROLE', 'boss'],
    ['DATABASE_POOL_MAX', '0'],
    ['RATE_LIMIT_ENABLED', 'maybe'],
    ['JWT_SECRET', 'short'],
    ['DATABASE_URL', 'mysql://x'],
    ['RATE_LIMIT_AUTH', 'ten per minute'],
  ])('rejects %s=%s with one line naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError)
    try {
      loadConfig({ [name]: value })
    } catch (e) {
      expect((e as Error).message).toStartWith(`config: ${name} must be`)
      expect((e as Error).message).not.toContain('\n')
    }
  })
})

describe('http conventions', () => {
  test('unknown route → 404 problem', async () => {
    const r = await req('GET', '/api/v1/nope')
    expect(r.status).toBe(404)
    expect(r.headers.get('content-type')).toContain('application/problem+json')
    expect(r.body).toMatchObject({ status: 404, code: 'route_not_found', instance: '/api/v1/nope' })
  })
  test('wrong method → 405 with Allow', async () => {
    const r = await req('DELETE', '/health')
    expect(r.status).toBe(405)
    expect(r.headers.get('allow')).toContain('GET')
  })
  test('request id is echoed when sane, generated otherwise', async () => {
    expect((await req('GET', '/health', { headers: { 'x-request-id': 'abc-123' } })).headers.get('x-request-id')).toBe('abc-123')
    const generated = (await req('GET', '/health', { headers: { 'x-request-id': 'bad id with spaces <script>' } })).headers.get(
      'x-request-id',
    )
    expect(generated).toMatch(/^[0-9a-f-]{36}$/)
  })
  test('/ready checks Postgres and Redis', async () => {
    const r = await req('GET', '/ready')
    expect(r.status).toBe(200)
    expect(r.body.checks).toEqual({ postgres: 'ok', redis: 'ok' })
  })
})

describe('test helpers', () => {
  test('createUser yields a token the auth macro accepts', async () => {
    const u = await createUser('admin')
    expect(u.token.split('.')).toHaveLength(3)
    expect(typeof (await tokenFor(u.id, 'customer'))).toBe('string')
  })
})

describe('processes and dependencies', () => {
  test('/ready reports a stopped Redis as down (degraded, still serving)', async () => {
    const api = await startApi({ REDIS_URL: `redis://127.0.0.1:${freePort()}` })
    try {
      const r = await fetch(`${api.url}/ready`)
      const body = await r.json()
      expect(r.status).toBe(200)
      expect(body.status).toBe('degraded')
      expect(body.checks).toEqual({ postgres: 'ok', redis: 'down' })
    } finally {
      await api.stop()
    }
  })

  test('/ready answers 503 when Postgres is unreachable', async () => {
    // STAMPEDE_CHILD skips boot-time migration, so the process starts without a database.
    const api = await startApi({ STAMPEDE_CHILD: '1', DATABASE_URL: `postgres://postgres@127.0.0.1:${freePort()}/nowhere` })
    try {
      const r = await fetch(`${api.url}/ready`)
      expect(r.status).toBe(503)
      expect((await r.json()).checks.postgres).toBe('down')
      expect((await fetch(`${api.url}/health`)).status).toBe(200)
    } finally {
      await api.stop()
    }
  })

  test('WEB_CONCURRENCY=2 runs two API processes on one port; SIGTERM stops them all', async () => {
    const api = await startApi({ WEB_CONCURRENCY: '2' })
    const children = () =>
      Bun.spawnSync(['pgrep', '-P', String(api.proc.pid)])
        .stdout.toString()
        .trim()
        .split('\n')
        .filter(Boolean)
    try {
      expect(children()).toHaveLength(2)
      const statuses = await Promise.all(Array.from({ length: 50 }, () => fetch(`${api.url}/health`).then((r) => r.status)))
      expect(statuses.every((s) => s === 200)).toBe(true)
    } finally {
      const t0 = Date.now()
      await api.stop()
      expect(api.proc.exitCode).toBe(0)
      expect(Date.now() - t0).toBeLessThan(15000)
    }
  })
})

describe('migrations', () => {
  test('apply cleanly to an empty database, twice (idempotent)', async () => {
    const { default: postgres } = await import('postgres')
    const { runMigrations } = await import('../db/migrate')
    const server = new URL(process.env.TEST_SERVER_DATABASE_URL ?? (process.env.DATABASE_URL as string))
    const name = `stampede_mig_${Date.now().toString(36)}`
    server.pathname = '/postgres'
    const admin = postgres(server.toString(), { max: 1, onnotice: () => {} })
    await admin.unsafe(`create database "${name}"`)
    try {
      const url = new URL(server)
      url.pathname = `/${name}`
      await runMigrations(url.toString())
      await runMigrations(url.toString())
      const check = postgres(url.toString(), { max: 1 })
      const tables = (await check`select tablename from pg_tables where schemaname = 'public'`).map((r) => r.tablename)
      await check.end()
      expect(tables).toEqual(expect.arrayContaining(['users', 'products', 'categories', 'inventory', 'outbox_events']))
    } finally {
      await admin.unsafe(`drop database if exists "${name}" with (force)`)
      await admin.end()
    }
  })
})

describe('logging', () => {
  test('request log lines are JSON and carry the request id', async () => {
    const api = await startApi({ LOG_LEVEL: 'info' }, { stdout: 'pipe' })
    await fetch(`${api.url}/health`, { headers: { 'x-request-id': 'log-line-test-1' } })
    await fetch(`${api.url}/nope`, { headers: { 'x-request-id': 'log-line-test-2' } })
    await api.stop()
    const lines = (await new Response(api.proc.stdout as ReadableStream).text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const mine = lines.filter((l) => String(l.requestId).startsWith('log-line-test-'))
    expect(mine.map((l) => [l.requestId, l.status])).toEqual([
      ['log-line-test-1', 200],
      ['log-line-test-2', 404],
    ])
  })
})

describe('graceful shutdown', () => {
  test('SIGTERM lets an in-flight request finish, then refuses new connections', async () => {
    const api = await startApi()
    // A request whose body trickles in over ~600 ms is in flight when the signal arrives.
    const body = JSON.stringify({ email: 'drain@test.local', password: 'wrong-password-123' })
    const stream = new ReadableStream({
      async start(controller) {
        const bytes = new TextEncoder().encode(body)
        for (let i = 0; i < bytes.length; i += 8) {
          controller.enqueue(bytes.slice(i, i + 8))
          await Bun.sleep(60)
        }
        controller.close()
      },
    })
    const inFlight = fetch(`${api.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      // @ts-expect-error Bun/undici option for streaming request bodies
      duplex: 'half',
    })
    await Bun.sleep(150)
    api.proc.kill('SIGTERM')
    const res = await inFlight
    expect(res.status).toBe(401) // answered, not reset: wrong credentials
    expect(await api.proc.exited).toBe(0)
    expect(
      await fetch(`${api.url}/health`).then(
        () => 'served',
        () => 'refused',
      ),
    ).toBe('refused')
  })
})

describe('OpenAPI document', () => {
  test('every API operation has a tag, a summary and problem+json error responses', async () => {
    const spec = (await req('GET', '/swagger/json')).body as { paths: Record<string, Record<string, any>>; components: any }
    expect(spec.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    const missing: string[] = []
    let operations = 0
    for (const [path, ops] of Object.entries(spec.paths)) {
      if (!path.startsWith('/api/v1')) continue
      for (const [method, op] of Object.entries(ops)) {
        operations++
        const where = `${method.toUpperCase()} ${path}`
        if (!op.tags?.length) missing.push(`${where}: tags`)
        if (!op.summary) missing.push(`${where}: summary`)
        const errors = Object.entries(op.responses ?? {}).filter(([s]) => /^[45]/.test(s))
        // Parameterless public reads may have no client error to document.
        const parameterless = method === 'get' && !path.includes('{') && !(op.parameters ?? []).length
        if (!errors.length && !parameterless) missing.push(`${where}: error responses`)
        // Problems are shared components (components.responses), referenced by $ref.
        const deref = (r: any) => (r?.$ref ? spec.components.responses[r.$ref.split('/').pop()] : r)
        for (const [s, r] of errors) if (!deref(r)?.content?.['application/problem+json']) missing.push(`${where}: ${s} not problem+json`)
      }
    }
    expect(operations).toBeGreaterThan(30)
    expect(missing).toEqual([])
  })
})

describe('README', () => {
  test('the configuration table documents every variable config.ts reads', async () => {
    const { ConfigSchema } = await import('../src/config')
    const doc = await Bun.file(`${import.meta.dir}/../docs/configuration.md`).text()
    const missing = Object.keys(ConfigSchema.properties).filter((k) => !new RegExp(`\\|\\s*\`${k}\`\\s*\\|`).test(doc))
    expect(missing).toEqual([])
  })
})
