// Test helpers: in-process requests against the real app (real Postgres and Redis), and
// real API processes for multi-instance tests.
import { tmpdir } from 'node:os'
import { app } from '../src/app'

export type TestResponse<T = any> = { status: number; headers: Headers; body: T; text: string }

export async function req<T = any>(
  method: string,
  path: string,
  opts: { body?: unknown; token?: string; headers?: Record<string, string>; raw?: string } = {},
): Promise<TestResponse<T>> {
  const headers: Record<string, string> = { ...opts.headers }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  let body: string | undefined
  if (opts.raw !== undefined) body = opts.raw
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body)
    headers['content-type'] ??= 'application/json'
  }
  const res = await app.handle(new Request(`http://localhost${path}`, { method, headers, body }))
  const text = await res.text()
  let parsed: unknown = text
  try {
    parsed = text ? JSON.parse(text) : null
  } catch {}
  return { status: res.status, headers: res.headers, body: parsed as T, text }
}

export function freePort(): number {
  const s = Bun.serve({ port: 0, fetch: () => new Response() })
  const port = s.port as number
  s.stop(true)
  return port
}

export type ApiProcess = { url: string; port: number; proc: Bun.Subprocess; stop: () => Promise<void> }

/** Starts a real API process (src/index.ts) with extra env; resolves once /health answers. */
export async function startApi(env: Record<string, string> = {}, opts: { stdout?: 'pipe' | 'ignore' } = {}): Promise<ApiProcess> {
  const port = freePort()
  // Logs go to stdout: unless the caller reads them, keep them in a file so that a process that
  // dies at boot says why.
  const log = opts.stdout === 'pipe' ? null : `${tmpdir()}/stampede-test-api-${process.pid}-${port}.log`
  const proc = Bun.spawn(['bun', `${import.meta.dir}/../src/index.ts`], {
    env: { ...process.env, PORT: String(port), ROLE: 'api', LOG_LEVEL: 'warn', ...env },
    stdout: log ? Bun.file(log) : 'pipe',
    stderr: 'inherit',
  })
  const url = `http://127.0.0.1:${port}`
  // Up to 60 s: a boot takes ~5 s on an idle box and much longer on a loaded one. A process that
  // never answers fails the test here, not later with ECONNREFUSED.
  const deadline = Date.now() + 60_000
  for (let healthy = false; !healthy; ) {
    if (Date.now() > deadline) {
      proc.kill('SIGKILL')
      throw new Error(`API process on :${port} did not answer /health within 60 s${log ? ` (log: ${log})` : ''}`)
    }
    if (proc.exitCode !== null) {
      const said = log
        ? (
            await Bun.file(log)
              .text()
              .catch(() => '')
          ).slice(-2000)
        : ''
      throw new Error(`API process exited with ${proc.exitCode}${said ? `: ${said}` : ''}`)
    }
    try {
      healthy = (await fetch(`${url}/health`)).ok
    } catch {}
    if (!healthy) await Bun.sleep(50)
  }
  return {
    url,
    port,
    proc,
    stop: async () => {
      proc.kill('SIGTERM')
      await proc.exited
      if (log)
        await Bun.file(log)
          .delete()
          .catch(() => {})
    },
  }
}

export type Outcome = { status: number; code?: string }

/** One buyer's order of one unit over HTTP against a real API process (5xx bodies are printed). */
export async function buy(url: string, token: string, productId: string): Promise<Outcome> {
  const res = await fetch(`${url}/api/v1/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() },
    body: JSON.stringify({ items: [{ productId, quantity: 1 }] }),
  })
  const text = await res.text()
  let body: { code?: string } = {}
  try {
    body = JSON.parse(text) ?? {}
  } catch {}
  if (res.status >= 500) console.error(res.status, text.slice(0, 300))
  return { status: res.status, code: body.code }
}

// --- users and tokens without going through the auth routes (for tests of other modules) ---
import { users } from '../db/schema'
import { db } from '../src/infra/db'
import { type Role, signAccessToken } from '../src/plugins/auth'

let seq = 0
export async function createUser(role: Role = 'customer'): Promise<{ id: string; email: string; role: Role; token: string }> {
  const email = `u${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}@test.local`
  const [u] = await db.insert(users).values({ email, name: 'Test User', passwordHash: 'not-a-login', role }).returning()
  if (!u) throw new Error('user insert failed')
  return { id: u.id, email, role, token: await tokenFor(u.id, role) }
}

/** An access token at token version `ver` (a fresh user's is 0). */
export async function tokenFor(id: string, role: Role, ver = 0): Promise<string> {
  return signAccessToken(id, role, ver)
}

// --- users through the real auth routes ---
export type RegisteredUser = {
  user: { id: string; email: string; name: string; role: Role; createdAt: string }
  accessToken: string
  refreshToken: string
  password: string
}

/** Registers a fresh customer via POST /api/v1/auth/register; throws unless it answers 201. */
export async function registerUser(overrides: { email?: string; password?: string; name?: string } = {}): Promise<RegisteredUser> {
  const password = overrides.password ?? 'Correct-horse-7'
  const email = overrides.email ?? `r${Date.now().toString(36)}${(seq++).toString(36)}${Math.random().toString(36).slice(2, 6)}@test.local`
  const r = await req('POST', '/api/v1/auth/register', { body: { email, password, name: overrides.name ?? 'Reg User' } })
  if (r.status !== 201) throw new Error(`register failed: ${r.status} ${r.text}`)
  return { user: r.body.user, accessToken: r.body.accessToken, refreshToken: r.body.refreshToken, password }
}

/** Sum of a metric's values in this process's registry, optionally only those with these labels. */
export async function metricSum(name: string, labels: Record<string, string> = {}): Promise<number> {
  const { registry } = await import('../src/infra/metrics')
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name)
  const values = metric?.values.filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) ?? []
  return values.reduce((a, v) => a + v.value, 0)
}
