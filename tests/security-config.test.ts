// Production secrets and CORS (issue 18, defects 1 and 8): production refuses to boot with a
// default, placeholder or short secret, naming it; CORS_ORIGINS=* never allows credentials, and
// production warns about it at boot.
import { afterAll, describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../src/config'
import { type ApiProcess, req, startApi } from './helpers'

const started: ApiProcess[] = []
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()))
})

const PRIVATE = { JWT_SECRET: 'k7Qp2vX9sLm4Rt8Wz1Yb6Nc3Hd5Jf0Ga', PAYMENT_WEBHOOK_SECRET: 'Wq8Zr3Lm6Tx1Vb9Nc4Hd7Jf2Gs5Kp0Ya' }
const prod = (env: Record<string, string>) => () => loadConfig({ NODE_ENV: 'production', ...PRIVATE, ...env })

function refuses(load: () => unknown, name: string): void {
  expect(load).toThrow(ConfigError)
  try {
    load()
  } catch (e) {
    expect((e as Error).message).toStartWith(`config: ${name} must`)
  }
}

describe('production secrets', () => {
  test('private secrets of 32+ characters boot; development keeps its defaults', () => {
    expect(prod({})().PAYMENT_WEBHOOK_SECRET).toBe(PRIVATE.PAYMENT_WEBHOOK_SECRET)
    expect(loadConfig({}).PAYMENT_WEBHOOK_SECRET.length).toBeGreaterThanOrEqual(16)
  })

  test.each(['JWT_SECRET', 'PAYMENT_WEBHOOK_SECRET'] as const)('%s: the default, a placeholder, or a short value is refused', (name) => {
    refuses(() => loadConfig({ NODE_ENV: 'production', ...PRIVATE, [name]: undefined }), name) // default
    refuses(prod({ [name]: 'change-me-to-a-long-random-secret-0123456789' }), name) // docker-compose's old value
    refuses(prod({ [name]: 'x9'.repeat(12) }), name) // 24 characters
  })

  test('a public placeholder admin password is refused', () => {
    refuses(prod({ ADMIN_EMAIL: 'admin@shop.example', ADMIN_PASSWORD: 'change-me-Admin-123' }), 'ADMIN_PASSWORD')
    expect(prod({ ADMIN_EMAIL: 'admin@shop.example', ADMIN_PASSWORD: 'a-Private-admin-pass-77' })().ADMIN_EMAIL).toBe('admin@shop.example')
  })

  test('a real production process with the default webhook secret exits 1 naming it, before listening', async () => {
    const proc = Bun.spawn(['bun', `${import.meta.dir}/../src/index.ts`], {
      env: { ...process.env, NODE_ENV: 'production', JWT_SECRET: PRIVATE.JWT_SECRET, PAYMENT_WEBHOOK_SECRET: '', PORT: '0' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    expect(await proc.exited).toBe(1)
    const stderr = await new Response(proc.stderr).text()
    expect(stderr).toContain('config: PAYMENT_WEBHOOK_SECRET must be set to a private value in production')
  }, 30_000)
})

describe('CORS', () => {
  test('CORS_ORIGINS=* (the default): any origin may read, never with credentials', async () => {
    const origin = 'https://evil.example'
    const pre = await req('OPTIONS', '/api/v1/orders', {
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' },
    })
    const get = await req('GET', '/api/v1/products?limit=1', { headers: { origin } })
    for (const r of [pre, get]) expect(r.headers.get('access-control-allow-credentials')).toBeNull()
  })

  test('listed origins get credentials; others are not reflected', async () => {
    const p = await startApi({ CORS_ORIGINS: 'https://shop.example' })
    started.push(p)
    const from = (origin: string) => fetch(`${p.url}/api/v1/products?limit=1`, { headers: { origin } })
    const ok = await from('https://shop.example')
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example')
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true')
    const evil = await from('https://evil.example')
    expect(evil.headers.get('access-control-allow-origin')).not.toBe('https://evil.example')
  }, 30_000)

  test('production with CORS_ORIGINS=* warns at boot', async () => {
    const p = await startApi({ NODE_ENV: 'production', ...PRIVATE, CORS_ORIGINS: '*', LOG_LEVEL: 'warn' }, { stdout: 'pipe' })
    started.push(p)
    await p.stop()
    const out = await new Response(p.proc.stdout as ReadableStream).text()
    expect(out).toContain('CORS_ORIGINS is * in production')
  }, 30_000)
})
