// Admin user routes (RBAC, pagination, audited role changes), the boot-time admin, and the OpenAPI
// description of every identity route.
import { afterAll, describe, expect, test } from 'bun:test'
import { and, eq } from 'drizzle-orm'
import { auditLog, users } from '../db/schema'
import { db } from '../src/infra/db'
import { type ApiProcess, createUser, registerUser, req, startApi } from './helpers'

const started: ApiProcess[] = []
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()))
})

describe('RBAC', () => {
  test('no token → 401 with WWW-Authenticate; customer → 403; admin → 200', async () => {
    const [customer, admin] = await Promise.all([registerUser(), createUser('admin')])
    const anon = await req('GET', '/api/v1/admin/users')
    expect(anon.status).toBe(401)
    expect(anon.headers.get('www-authenticate')).toBe('Bearer')
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { role: 'admin' }],
    ] as const) {
      const path = method === 'GET' ? '/api/v1/admin/users' : `/api/v1/admin/users/${customer.user.id}`
      const r = await req(method, path, { token: customer.accessToken, body })
      expect(r.status).toBe(403)
      expect(r.body.code).toBe('forbidden')
    }
    // The customer did not promote themselves.
    const [row] = await db.select().from(users).where(eq(users.id, customer.user.id))
    expect(row?.role).toBe('customer')
    expect((await req('GET', '/api/v1/admin/users', { token: admin.token })).status).toBe(200)
  })
})

describe('GET /admin/users', () => {
  test('keyset pagination visits every user once', async () => {
    const admin = await createUser('admin')
    await Promise.all(Array.from({ length: 5 }, () => registerUser()))
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const r: { status: number; body: { items: { id: string; email: string; role: string }[]; nextCursor: string | null } } = await req(
        'GET',
        `/api/v1/admin/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { token: admin.token },
      )
      expect(r.status).toBe(200)
      expect(r.body.items.length).toBeLessThanOrEqual(2)
      for (const u of r.body.items) expect(u).not.toHaveProperty('passwordHash')
      seen.push(...r.body.items.map((u) => u.id))
      cursor = r.body.nextCursor
      pages++
    } while (cursor && pages < 1000)
    const all = await db.select({ id: users.id }).from(users)
    expect(seen.length).toBe(all.length)
    expect(new Set(seen).size).toBe(all.length)
    expect([...seen].sort()).toEqual(seen)
  })

  test.each([
    ['limit=0', 'limit'],
    ['limit=101', 'limit'],
    ['limit=abc', 'query.limit'],
    ['cursor=garbage', 'query.cursor'],
    [`cursor=${Buffer.from('["not-a-uuid"]').toString('base64url')}`, 'query.cursor'],
  ])('%s → 422 naming %s', async (qs, field) => {
    const admin = await createUser('admin')
    const r = await req('GET', `/api/v1/admin/users?${qs}`, { token: admin.token })
    expect(r.status).toBe(422)
    expect(r.body.errors.map((e: { field: string }) => e.field)).toContain(field)
  })
})

describe('PATCH /admin/users/:id', () => {
  test('role change is applied, audited, and revokes the access tokens the user holds at once', async () => {
    const [admin, target] = await Promise.all([createUser('admin'), registerUser()])
    const r = await req('PATCH', `/api/v1/admin/users/${target.user.id}`, {
      token: admin.token,
      body: { role: 'admin' },
      headers: { 'x-request-id': `role-change-${target.user.id}` },
    })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ id: target.user.id, role: 'admin' })
    const [audit] = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.userId, target.user.id), eq(auditLog.event, 'role_change')))
    expect(audit).toMatchObject({ requestId: `role-change-${target.user.id}`, details: { from: 'customer', to: 'admin', by: admin.id } })
    expect(audit?.ip).toBeTruthy()

    // The old access token stops working on the next request; the refreshed one says admin.
    const old = await req('GET', '/api/v1/auth/me', { token: target.accessToken })
    expect(old.status).toBe(401)
    expect(old.body.code).toBe('token_revoked')
    const refreshed = await req('POST', '/api/v1/auth/refresh', { body: { refreshToken: target.refreshToken } })
    expect(refreshed.body.user.role).toBe('admin')
    expect((await req('GET', '/api/v1/admin/users', { token: refreshed.body.accessToken })).status).toBe(200)

    // Setting the same role again is a no-op: no second audit row.
    await req('PATCH', `/api/v1/admin/users/${target.user.id}`, { token: admin.token, body: { role: 'admin' } })
    const audits = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.userId, target.user.id), eq(auditLog.event, 'role_change')))
    expect(audits).toHaveLength(1)
  })

  test('errors: own role 409, unknown user 404, bad id / bad role 422', async () => {
    const admin = await createUser('admin')
    const own = await req('PATCH', `/api/v1/admin/users/${admin.id}`, { token: admin.token, body: { role: 'customer' } })
    expect(own.status).toBe(409)
    expect(own.body.code).toBe('own_role')
    const unknown = await req('PATCH', `/api/v1/admin/users/${Bun.randomUUIDv7()}`, { token: admin.token, body: { role: 'admin' } })
    expect(unknown.status).toBe(404)
    const badId = await req('PATCH', '/api/v1/admin/users/123', { token: admin.token, body: { role: 'admin' } })
    expect(badId.status).toBe(422)
    expect(badId.body.errors[0].field).toBe('params.id')
    const target = await createUser()
    const badRole = await req('PATCH', `/api/v1/admin/users/${target.id}`, { token: admin.token, body: { role: 'root' } })
    expect(badRole.status).toBe(422)
    expect(badRole.body.errors[0].field).toBe('role')
  })
})

describe('admin from ADMIN_EMAIL / ADMIN_PASSWORD', () => {
  test('concurrent boots promote an existing account to one admin row with the configured password', async () => {
    const existing = await registerUser({ password: 'Customer-pass-1' })
    const env = { ADMIN_EMAIL: ` ${existing.user.email.toUpperCase()} `, ADMIN_PASSWORD: 'Admin-pass-2026' }
    const procs = await Promise.all([startApi(env), startApi(env)])
    started.push(...procs)
    const rows = await db.select().from(users).where(eq(users.email, existing.user.email))
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ id: existing.user.id, role: 'admin' })
    const ok = await req('POST', '/api/v1/auth/login', { body: { email: existing.user.email, password: 'Admin-pass-2026' } })
    expect(ok.status).toBe(200)
    expect(ok.body.user.role).toBe('admin')
    expect((await req('POST', '/api/v1/auth/login', { body: { email: existing.user.email, password: 'Customer-pass-1' } })).status).toBe(
      401,
    )
    expect((await req('GET', '/api/v1/admin/users', { token: ok.body.accessToken })).status).toBe(200)
  })

  test('a fresh admin is created when the email is new', async () => {
    const email = `boot-admin-${Date.now().toString(36)}@test.local`
    started.push(await startApi({ ADMIN_EMAIL: email, ADMIN_PASSWORD: 'Admin-pass-2026' }))
    const [row] = await db.select().from(users).where(eq(users.email, email))
    expect(row?.role).toBe('admin')
    const [audit] = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.userId, row?.id as string), eq(auditLog.event, 'admin_ensured')))
    expect(audit?.details).toMatchObject({ created: true })
  })
})

describe('OpenAPI', () => {
  const routes: [string, string, string, string[]][] = [
    ['post', '/api/v1/auth/register', 'auth', ['201', '409', '422', '429']],
    ['post', '/api/v1/auth/login', 'auth', ['200', '401', '422', '429']],
    ['post', '/api/v1/auth/refresh', 'auth', ['200', '401', '422', '429']],
    ['post', '/api/v1/auth/logout', 'auth', ['204', '422', '429']],
    ['get', '/api/v1/auth/me', 'auth', ['200', '401', '429']],
    ['get', '/api/v1/admin/users', 'admin', ['200', '401', '403', '422', '429']],
    ['patch', '/api/v1/admin/users/{id}', 'admin', ['200', '401', '403', '404', '409', '422', '429']],
  ]
  test.each(routes)('%s %s is documented with tag, summary, schemas and its errors', async (method, path, tag, statuses) => {
    const spec = (await req('GET', '/swagger/json')).body
    const op = spec.paths[path]?.[method]
    expect(op).toBeDefined()
    expect(op.tags).toContain(tag)
    expect(op.summary.length).toBeGreaterThan(5)
    if (method !== 'get') expect(op.requestBody.content['application/json'].schema.properties).toBeDefined()
    for (const s of statuses) expect(op.responses[s]).toBeDefined()
    // Problems are shared components: a response $ref whose schema is a $ref to Problem.
    const deref = (o: any) => (o?.$ref ? o.$ref.split('/').reduce((n: any, k: string) => (k === '#' ? spec : n[k]), spec) : o)
    for (const s of statuses.filter((s) => Number(s) >= 400)) {
      const schema = deref(deref(op.responses[s]).content['application/problem+json'].schema)
      expect(schema.required).toEqual(expect.arrayContaining(['type', 'title', 'status', 'detail', 'code']))
    }
    if (statuses.includes('204')) expect(op.responses['204'].content).toBeUndefined()
    if (tag === 'admin' || path.endsWith('/me')) expect(op.security).toEqual([{ bearerAuth: [] }])
  })
})
