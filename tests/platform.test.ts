import { describe, expect, test } from 'bun:test'
import { ConfigError, loadConfig } from '../src/config'
import { req } from './helpers'

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
    const { tokenFor, createUser } = await import('./helpers')
    const u = await createUser('admin')
    expect(u.token.split('.')).toHaveLength(3)
    expect(typeof (await tokenFor(u.id, 'customer'))).toBe('string')
  })
})
