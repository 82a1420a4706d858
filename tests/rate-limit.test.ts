// Rate limiting against real API processes and real Redis: brute force → 429 with Retry-After and
// RateLimit headers, limits shared by two processes, per-user keys, exemptions, the kill switch,
// and the in-process fallback when Redis is unreachable or dies.
import { afterAll, describe, expect, test } from 'bun:test'
import { tcpReachable } from '../src/infra/embedded'
import { type ApiProcess, freePort, registerUser, startApi } from './helpers'

const started: ApiProcess[] = []
const redisServers: Bun.Subprocess[] = []
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()))
  for (const r of redisServers) r.kill('SIGKILL')
})

let n = 0
/** Each scenario gets its own key space under this run's prefix (cleaned up by the test runner). */
const subPrefix = () => `${process.env.REDIS_PREFIX}:rl${n++}${Math.random().toString(36).slice(2, 6)}`

async function api(env: Record<string, string>): Promise<ApiProcess> {
  const p = await startApi({ REDIS_PREFIX: subPrefix(), ...env })
  started.push(p)
  return p
}

// biome-ignore lint/suspicious/noExplicitAny: parsed JSON of whatever shape the route answers
type Res = { status: number; headers: Headers; body: any }
async function call(
  p: ApiProcess,
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; headers?: Record<string, string> } = {},
): Promise<Res> {
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.body !== undefined) headers['content-type'] = 'application/json'
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  const res = await fetch(`${p.url}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) })
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: res.status, headers: res.headers, body }
}

const login = (p: ApiProcess, email: string, headers?: Record<string, string>) =>
  call(p, 'POST', '/api/v1/auth/login', { body: { email, password: 'Wrong-horse-7' }, headers })

const email = () => `rl${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}@test.local`

function expect429(r: Res, policy: string) {
  expect(r.status).toBe(429)
  expect(r.headers.get('content-type')).toContain('application/problem+json')
  expect(r.body).toMatchObject({ status: 429, code: 'rate_limited' })
  const retryAfter = Number(r.headers.get('retry-after'))
  expect(retryAfter).toBeGreaterThanOrEqual(1)
  expect(retryAfter).toBeLessThanOrEqual(60)
  expect(r.headers.get('ratelimit-policy')).toContain(`"${policy}";q=`)
  expect(r.headers.get('ratelimit')).toMatch(new RegExp(`"${policy}";r=0;t=\\d+`))
}

describe('auth policy', () => {
  test('login brute force hits 429 with Retry-After, RateLimit headers and a metric', async () => {
    const p = await api({ RATE_LIMIT_AUTH: '5/60' })
    const target = email()
    const results: Res[] = []
    for (let i = 0; i < 8; i++) results.push(await login(p, target))
    expect(results.map((r) => r.status)).toEqual([401, 401, 401, 401, 401, 429, 429, 429])
    const first = results[0] as Res
    expect(first.headers.get('ratelimit-policy')).toBe('"auth";q=5;w=60, "login-failures";q=5;w=60')
    expect(first.headers.get('ratelimit')).toMatch(/^"auth";r=4;t=(60|59), "login-failures";r=4;t=(60|59)$/)
    expect429(results[5] as Res, 'auth')
    const metrics = await (await fetch(`${p.url}/metrics`)).text()
    expect(metrics).toMatch(/rate_limit_rejections_total\{policy="auth"\} 3/)
    // Register and refresh share the auth budget of this IP.
    expect((await call(p, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: 'x' } })).status).toBe(429)
  })

  test('failed logins count per IP and email: an attacker cannot lock the owner out (TRUST_PROXY=true)', async () => {
    const p = await api({ RATE_LIMIT_AUTH: '3/60', TRUST_PROXY: 'true' })
    const owner = { email: email(), password: 'Owners-horse-7' }
    const at = (ip: string) => ({ 'x-forwarded-for': ip })
    expect((await call(p, 'POST', '/api/v1/auth/register', { body: { ...owner, name: 'Owner' }, headers: at('10.0.0.99') })).status).toBe(
      201,
    )
    // One attacker IP spends its failures on the owner's email, then is refused...
    const attacker = []
    for (let i = 0; i < 4; i++) attacker.push((await login(p, owner.email, at('10.0.0.66'))).status)
    expect(attacker).toEqual([401, 401, 401, 429])
    // ...other attacker IPs get their own few tries and no more, and the owner signs in at once.
    for (let i = 1; i <= 5; i++) expect((await login(p, owner.email, at(`10.0.1.${i}`))).status).toBe(401)
    const ok = await call(p, 'POST', '/api/v1/auth/login', { body: owner, headers: at('10.0.0.99') })
    expect(ok.status).toBe(200)
  })

  test('per IP across emails (TRUST_PROXY=true)', async () => {
    const p = await api({ RATE_LIMIT_AUTH: '3/60', TRUST_PROXY: 'true' })
    const byEmail = []
    for (let i = 0; i < 5; i++) byEmail.push((await login(p, email(), { 'x-forwarded-for': '10.9.9.9' })).status)
    expect(byEmail).toEqual([401, 401, 401, 429, 429])
  })

  test('X-Forwarded-For is ignored without TRUST_PROXY', async () => {
    const p = await api({ RATE_LIMIT_AUTH: '3/60' })
    const statuses = []
    for (let i = 0; i < 5; i++) statuses.push((await login(p, email(), { 'x-forwarded-for': `10.1.0.${i + 1}` })).status)
    expect(statuses).toEqual([401, 401, 401, 429, 429])
  })
})

describe('shared across processes', () => {
  test('two API processes sharing Redis enforce one combined limit', async () => {
    const prefix = subPrefix()
    const [a, b] = await Promise.all([
      startApi({ REDIS_PREFIX: prefix, RATE_LIMIT_AUTH: '5/60' }),
      startApi({ REDIS_PREFIX: prefix, RATE_LIMIT_AUTH: '5/60' }),
    ])
    started.push(a, b)
    // Different emails, same client IP: only the shared per-IP counter can stop them.
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => login(i % 2 ? a : b, email())))
    const allowed = results.filter((r) => r.status === 401).length
    expect(results.filter((r) => r.status !== 401 && r.status !== 429)).toHaveLength(0)
    // Unshared, each process would have admitted 5 of its 6 (10 in all).
    expect(allowed).toBe(5)
  })
})

describe('read and write policies', () => {
  test('keyed per user with a valid token, else per IP; health/ready/metrics/swagger exempt', async () => {
    const p = await api({ RATE_LIMIT_READ: '3/60', RATE_LIMIT_WRITE: '2/60' })
    // Users are registered in-process (generous limits); their tokens are valid in p too.
    const [alice, bob] = await Promise.all([registerUser(), registerUser()])
    const aliceReads = []
    for (let i = 0; i < 4; i++) aliceReads.push(await call(p, 'GET', '/api/v1/auth/me', { token: alice.accessToken }))
    expect(aliceReads.map((r) => r.status)).toEqual([200, 200, 200, 429])
    expect(aliceReads[0]?.headers.get('ratelimit-policy')).toBe('"read";q=3;w=60')
    expect(aliceReads[0]?.headers.get('ratelimit')).toMatch(/^"read";r=2;t=\d+$/)
    expect429(aliceReads[3] as Res, 'read')
    // Same IP, other user: own budget. Anonymous: the IP's budget, also untouched.
    expect((await call(p, 'GET', '/api/v1/auth/me', { token: bob.accessToken })).status).toBe(200)
    expect((await call(p, 'GET', '/api/v1/auth/me')).status).toBe(401)
    // A forged token does not buy a fresh per-user budget: it is keyed by IP.
    const forged = `${alice.accessToken.slice(0, -4)}AAAA`
    const anon = []
    for (let i = 0; i < 3; i++) anon.push((await call(p, 'GET', '/api/v1/auth/me', { token: forged })).status)
    expect(anon).toEqual([401, 401, 429])

    const writes = []
    for (let i = 0; i < 3; i++)
      writes.push(await call(p, 'POST', '/api/v1/auth/logout', { body: { refreshToken: 'x' }, token: bob.accessToken }))
    expect(writes.map((r) => r.status)).toEqual([204, 204, 429])
    expect429(writes[2] as Res, 'write')

    for (const path of ['/health', '/ready', '/metrics', '/swagger/json']) {
      for (let i = 0; i < 5; i++) {
        const r = await call(p, 'GET', path)
        expect(r.status).toBe(200)
        expect(r.headers.get('ratelimit')).toBeNull()
      }
    }
  })

  test('RATE_LIMIT_ENABLED=false turns limiting off', async () => {
    const p = await api({ RATE_LIMIT_ENABLED: 'false', RATE_LIMIT_AUTH: '1/60' })
    const target = email()
    const statuses = []
    for (let i = 0; i < 4; i++) statuses.push(await login(p, target))
    expect(statuses.map((r) => r.status)).toEqual([401, 401, 401, 401])
    expect(statuses[0]?.headers.get('ratelimit')).toBeNull()
  })
})

describe('Redis outage', () => {
  test('unreachable Redis from the start: limits still apply in-process, no 5xx', async () => {
    const p = await api({ REDIS_URL: `redis://127.0.0.1:${freePort()}`, RATE_LIMIT_AUTH: '4/60' })
    const target = email()
    const results: Res[] = []
    for (let i = 0; i < 6; i++) results.push(await login(p, target))
    expect(results.map((r) => r.status)).toEqual([401, 401, 401, 401, 429, 429])
    expect429(results[4] as Res, 'auth')
    const u = await registerUser()
    expect((await call(p, 'GET', '/api/v1/auth/me', { token: u.accessToken })).status).toBe(200)
    const ready = await call(p, 'GET', '/ready')
    expect(ready.body.checks.redis).toBe('down')
  })

  test('Redis dies mid-flight: the API keeps answering and limiting', async () => {
    const port = freePort()
    const server = Bun.spawn(['redis-server', '--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdout: 'ignore',
      stderr: 'ignore',
    })
    redisServers.push(server)
    for (let i = 0; i < 100 && !(await tcpReachable('127.0.0.1', port)); i++) await Bun.sleep(50)
    const p = await api({ REDIS_URL: `redis://127.0.0.1:${port}`, RATE_LIMIT_AUTH: '3/60' })
    expect((await call(p, 'GET', '/ready')).body.checks.redis).toBe('ok')
    const before = []
    for (let i = 0; i < 4; i++) before.push((await login(p, email())).status)
    expect(before).toEqual([401, 401, 401, 429])

    server.kill('SIGKILL')
    await server.exited
    // The in-process limiter starts its own count: 3 more, then 429 — never a 5xx or a hang.
    const after: Res[] = []
    for (let i = 0; i < 5; i++) after.push(await login(p, email()))
    expect(after.map((r) => r.status)).toEqual([401, 401, 401, 429, 429])
    expect429(after[3] as Res, 'auth')
    const u = await registerUser()
    expect((await call(p, 'GET', '/api/v1/auth/me', { token: u.accessToken })).status).toBe(200)
  })
})
