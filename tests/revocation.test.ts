// Revocation of access tokens (issue 18, defects 6 and 7): role changes, logout, a revoked login,
// deletion of the user take effect on the next request, also in another API process; tokens
// without `exp`, with a `sub` that is not a uuid, or of a deleted user are 401, never 500.
import { afterAll, describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { SignJWT } from 'jose'
import { refreshTokens, users } from '../db/schema'
import { config } from '../src/config'
import { db } from '../src/infra/db'
import { type ApiProcess, createUser, registerUser, req, startApi, tokenFor } from './helpers'
import { spawnRedis } from './jobs-helpers'
import { productWithStock } from './orders-fixtures'

const started: ApiProcess[] = []
const stopRedis: (() => Promise<void>)[] = []
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()))
  for (const s of stopRedis) await s()
})

const me = (token: string) => req('GET', '/api/v1/auth/me', { token })
const secret = new TextEncoder().encode(config.JWT_SECRET)
const expect401 = (r: { status: number; body: { code?: string } }, code?: string) => {
  expect(r.status).toBe(401)
  if (code) expect(r.body.code).toBe(code)
}

describe('takes effect on the next request', () => {
  test('a demoted admin loses admin rights at once and cannot promote anyone', async () => {
    const [boss, demoted, other] = await Promise.all([registerUser(), registerUser(), registerUser()])
    const root = await createUser('admin')
    for (const u of [boss, demoted]) {
      await req('PATCH', `/api/v1/admin/users/${u.user.id}`, { token: root.token, body: { role: 'admin' } })
    }
    const demotedToken = (await req('POST', '/api/v1/auth/refresh', { body: { refreshToken: demoted.refreshToken } })).body.accessToken
    expect((await req('GET', '/api/v1/admin/users', { token: demotedToken })).status).toBe(200) // cached as valid
    expect((await req('PATCH', `/api/v1/admin/users/${demoted.user.id}`, { token: root.token, body: { role: 'customer' } })).status).toBe(
      200,
    )
    expect401(await req('GET', '/api/v1/admin/users', { token: demotedToken }), 'token_revoked')
    expect401(await req('PATCH', `/api/v1/admin/users/${other.user.id}`, { token: demotedToken, body: { role: 'admin' } }), 'token_revoked')
    const [row] = await db.select({ role: users.role }).from(users).where(eq(users.id, other.user.id))
    expect(row?.role).toBe('customer')
  })

  test('logout revokes the access token, not just the refresh token', async () => {
    const u = await registerUser()
    expect((await me(u.accessToken)).status).toBe(200)
    expect((await req('POST', '/api/v1/auth/logout', { body: { refreshToken: u.refreshToken } })).status).toBe(204)
    expect401(await me(u.accessToken), 'token_revoked')
    // Signing in again gives a working token.
    const again = await req('POST', '/api/v1/auth/login', { body: { email: u.user.email, password: u.password } })
    expect((await me(again.body.accessToken)).status).toBe(200)
  })

  test('a login revoked for refresh-token reuse loses its access tokens too', async () => {
    const u = await registerUser()
    const r2 = await req('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } })
    await req('POST', '/api/v1/auth/refresh', { body: { refreshToken: r2.body.refreshToken } })
    expect((await me(r2.body.accessToken)).status).toBe(200)
    const reuse = await req('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } })
    expect(reuse.body.code).toBe('refresh_token_reused')
    expect401(await me(r2.body.accessToken), 'token_revoked')
  })

  test('a deleted user (admin DELETE) is refused at once; a user with orders is kept (409)', async () => {
    const [admin, u] = await Promise.all([createUser('admin'), registerUser()])
    expect((await me(u.accessToken)).status).toBe(200)
    expect((await req('DELETE', `/api/v1/admin/users/${u.user.id}`, { token: admin.token })).status).toBe(204)
    expect401(await me(u.accessToken), 'invalid_token')
    expect((await req('POST', '/api/v1/auth/refresh', { body: { refreshToken: u.refreshToken } })).status).toBe(401)
    expect((await req('DELETE', `/api/v1/admin/users/${u.user.id}`, { token: admin.token })).status).toBe(404)
    expect((await req('DELETE', `/api/v1/admin/users/${admin.id}`, { token: admin.token })).body.code).toBe('own_account')
    const buyer = await createUser()
    const productId = await productWithStock(1)
    const o = await req('POST', '/api/v1/orders', {
      token: buyer.token,
      body: { items: [{ productId, quantity: 1 }] },
      headers: { 'idempotency-key': `k-${Bun.randomUUIDv7()}` },
    })
    expect(o.status).toBe(201)
    const kept = await req('DELETE', `/api/v1/admin/users/${buyer.id}`, { token: admin.token })
    expect(kept.status).toBe(409)
    expect(kept.body.code).toBe('user_has_orders')
    expect((await me(buyer.token)).status).toBe(200)
  })

  test('across API processes: a role change made in one is refused by the other on its next request', async () => {
    const [a, b] = await Promise.all([startApi(), startApi()])
    started.push(a, b)
    const root = await createUser('admin')
    const target = await createUser('admin')
    const at = (p: ApiProcess, path: string, token: string, init: RequestInit = {}) =>
      fetch(`${p.url}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } })
    // b has the target's token verified and its state cached (in process and in Redis).
    for (let i = 0; i < 3; i++) expect((await at(b, '/api/v1/admin/users', target.token)).status).toBe(200)
    const demote = await at(a, `/api/v1/admin/users/${target.id}`, root.token, {
      method: 'PATCH',
      body: JSON.stringify({ role: 'customer' }),
    })
    expect(demote.status).toBe(200)
    const after = await at(b, '/api/v1/admin/users', target.token)
    expect(after.status).toBe(401)
    expect(((await after.json()) as { code: string }).code).toBe('token_revoked')
  }, 60_000)

  test('with Redis down, revocation still holds (read from Postgres)', async () => {
    const redisServer = await spawnRedis()
    stopRedis.push(redisServer.stop)
    const p = await startApi({ REDIS_URL: redisServer.url, RATE_LIMIT_ENABLED: 'false' })
    started.push(p)
    const u = await registerUser()
    const call = (token: string) => fetch(`${p.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } })
    for (let i = 0; i < 3; i++) expect((await call(u.accessToken)).status).toBe(200)
    await redisServer.stop() // kill -9
    expect((await call(u.accessToken)).status).toBe(200)
    // Logout through this process while Redis is gone: the token must not survive in any cache.
    const out = await fetch(`${p.url}/api/v1/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: u.refreshToken }),
    })
    expect(out.status).toBe(204)
    expect((await call(u.accessToken)).status).toBe(401)
  }, 60_000)
})

describe('forged or malformed tokens are 401, never 500', () => {
  test('a correctly signed token without exp is refused', async () => {
    const u = await registerUser()
    const noExp = await new SignJWT({ sub: u.user.id, role: 'customer', jti: 'x', ver: 0 })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .sign(secret)
    expect401(await me(noExp), 'invalid_token')
    // Control: the same token with an exp is accepted.
    const withExp = await new SignJWT({ sub: u.user.id, role: 'customer', jti: 'x', ver: 0 })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(secret)
    expect((await me(withExp)).status).toBe(200)
  })

  test('a signed token whose sub is not a uuid → 401 on every secured route', async () => {
    const token = await tokenFor('not-a-uuid' as string, 'customer')
    const productId = await productWithStock(5)
    for (const r of [
      await me(token),
      await req('POST', '/api/v1/orders', {
        token,
        body: { items: [{ productId, quantity: 1 }] },
        headers: { 'idempotency-key': 'k-sub' },
      }),
      await req('POST', `/api/v1/products/${productId}/reviews`, { token, body: { rating: 5, title: 'x', body: 'y' } }),
      await req('GET', '/api/v1/orders', { token }),
    ]) {
      expect401(r, 'invalid_token')
    }
  })

  test("a deleted user's token on POST /orders and POST /reviews → 401 (deleted in SQL, no app path)", async () => {
    const u = await createUser()
    const productId = await productWithStock(5)
    await db.delete(refreshTokens).where(eq(refreshTokens.userId, u.id))
    await db.delete(users).where(eq(users.id, u.id))
    const o = await req('POST', '/api/v1/orders', {
      token: u.token,
      body: { items: [{ productId, quantity: 1 }] },
      headers: { 'idempotency-key': `k-${Bun.randomUUIDv7()}` },
    })
    expect401(o, 'invalid_token')
    expect401(
      await req('POST', `/api/v1/products/${productId}/reviews`, { token: u.token, body: { rating: 4, title: 'ok', body: 'fine' } }),
      'invalid_token',
    )
  })
})
