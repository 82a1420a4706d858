// Password change and reset (issue 19): every bad input is a 4xx problem naming its field; a change
// ends the other logins; a reset token is single use, expiring, stored hashed, sent through the mail
// log, and the answer never tells whether an email has an account.
import { describe, expect, test } from 'bun:test'
import { and, desc, eq, isNull } from 'drizzle-orm'
import { auditLog, mailLog, passwordResets, refreshTokens } from '../db/schema'
import { db } from '../src/infra/db'
import { sha256 } from '../src/modules/auth/token-families'
import { type RegisteredUser, registerUser, req } from './helpers'

const me = (token: string) => req('GET', '/api/v1/auth/me', { token })
const login = (email: string, password: string) => req('POST', '/api/v1/auth/login', { body: { email, password } })
const change = (token: string, body: unknown) => req('POST', '/api/v1/auth/password', { token, body })
const resetRequest = (body: unknown) => req('POST', '/api/v1/auth/password-reset', { body })
const confirm = (body: unknown) => req('POST', '/api/v1/auth/password-reset/confirm', { body })

function expectField(r: { status: number; headers: Headers; body: { errors?: { field: string }[] } }, field: string, status = 422) {
  expect(r.status).toBe(status)
  expect(r.headers.get('content-type')).toContain('application/problem+json')
  expect(r.body.errors?.map((e) => e.field)).toContain(field)
}

/** The reset email the background request wrote to the mail log (polled: the 202 does not wait). */
async function resetMail(email: string) {
  for (let i = 0; i < 100; i++) {
    const [m] = await db
      .select()
      .from(mailLog)
      .where(and(eq(mailLog.toAddress, email), eq(mailLog.kind, 'password_reset')))
      .orderBy(desc(mailLog.createdAt))
    if (m) return { ...m, token: /^ {2}(\S+)$/m.exec(m.textBody)?.[1] as string }
    await Bun.sleep(20)
  }
  throw new Error(`no reset email for ${email}`)
}

async function secondLogin(u: RegisteredUser) {
  const r = await login(u.user.email, u.password)
  expect(r.status).toBe(200)
  return r.body as { accessToken: string; refreshToken: string }
}

describe('POST /auth/password', () => {
  test('changes the password, ends every other login, hands the caller a fresh pair', async () => {
    const u = await registerUser()
    const other = await secondLogin(u)
    const r = await change(u.accessToken, { currentPassword: u.password, newPassword: 'Brand-new-horse-9' })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ user: { id: u.user.id }, tokenType: 'Bearer' })
    // Other logins: refresh token revoked, access token refused on the next request.
    expect((await req('POST', '/api/v1/auth/refresh', { body: { refreshToken: other.refreshToken } })).body.code).toBe(
      'refresh_token_revoked',
    )
    expect((await me(other.accessToken)).status).toBe(401)
    expect((await me(u.accessToken)).status).toBe(401)
    // The caller's new pair works; the old password does not, the new one does.
    expect((await me(r.body.accessToken)).status).toBe(200)
    expect((await req('POST', '/api/v1/auth/refresh', { body: { refreshToken: r.body.refreshToken } })).status).toBe(200)
    expect((await login(u.user.email, u.password)).status).toBe(401)
    expect((await login(u.user.email, 'Brand-new-horse-9')).status).toBe(200)
    const audits = await db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.userId, u.user.id), eq(auditLog.event, 'password_change')))
    expect(audits).toHaveLength(1)
  })

  test('bad inputs: each a 4xx problem naming the field, nothing changed', async () => {
    const u = await registerUser()
    expect(
      (await req('POST', '/api/v1/auth/password', { body: { currentPassword: u.password, newPassword: 'Brand-new-horse-9' } })).status,
    ).toBe(401)
    expectField(await change(u.accessToken, { currentPassword: 'Wrong-horse-1', newPassword: 'Brand-new-horse-9' }), 'currentPassword')
    expectField(await change(u.accessToken, { currentPassword: u.password, newPassword: 'short' }), 'newPassword')
    expectField(await change(u.accessToken, { currentPassword: u.password, newPassword: 'alllowercaseletters' }), 'newPassword')
    expectField(await change(u.accessToken, { currentPassword: u.password, newPassword: `Aa1${'x'.repeat(200)}` }), 'newPassword')
    expectField(await change(u.accessToken, { currentPassword: u.password, newPassword: u.password }), 'newPassword')
    expectField(await change(u.accessToken, { currentPassword: u.password }), 'newPassword')
    expectField(await change(u.accessToken, { newPassword: 'Brand-new-horse-9' }), 'currentPassword')
    expectField(await change(u.accessToken, { currentPassword: 7, newPassword: 'Brand-new-horse-9' }), 'currentPassword')
    // Nothing happened: the old password and tokens still work.
    expect((await me(u.accessToken)).status).toBe(200)
    expect((await login(u.user.email, u.password)).status).toBe(200)
  })
})

describe('password reset', () => {
  test('202 for known and unknown emails alike; a single-use token (stored hashed) by email', async () => {
    const u = await registerUser()
    const other = await secondLogin(u)
    const unknown = await resetRequest({ email: `nobody-${Bun.randomUUIDv7()}@test.local` })
    const known = await resetRequest({ email: `  ${u.user.email.toUpperCase()} ` })
    expect(unknown.status).toBe(202)
    expect(known.status).toBe(202)
    expect(known.text).toBe(unknown.text)
    const mail = await resetMail(u.user.email)
    expect(mail.orderId).toBeNull()
    expect(mail.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const [stored] = await db.select().from(passwordResets).where(eq(passwordResets.userId, u.user.id))
    expect(stored?.tokenHash).toBe(sha256(mail.token))
    expect(stored?.tokenHash).not.toContain(mail.token)
    // Admins do not get to read the code from the mail log.
    const admin = (await import('./helpers')).createUser('admin')
    const listed = await req('GET', '/api/v1/admin/mail?kind=password_reset&limit=100', { token: (await admin).token })
    expect(listed.status).toBe(200)
    expect(JSON.stringify(listed.body)).not.toContain(mail.token)

    expect((await confirm({ token: mail.token, newPassword: 'Reset-horse-42' })).status).toBe(204)
    expectField(await confirm({ token: mail.token, newPassword: 'Reset-horse-43' }), 'token') // single use
    expect((await login(u.user.email, 'Reset-horse-42')).status).toBe(200)
    expect((await login(u.user.email, u.password)).status).toBe(401)
    // Every login that existed before the reset has ended.
    expect((await me(other.accessToken)).status).toBe(401)
    expect((await me(u.accessToken)).status).toBe(401)
    const before = await db
      .select()
      .from(refreshTokens)
      .where(and(eq(refreshTokens.userId, u.user.id), isNull(refreshTokens.revokedAt)))
    expect(before).toHaveLength(1) // only the login made after the reset
  })

  test('bad inputs: each a 4xx problem naming the field; a rejected password keeps the token usable', async () => {
    expectField(await resetRequest({}), 'email')
    expectField(await resetRequest({ email: 42 }), 'email')
    expectField(await resetRequest({ email: 'x'.repeat(300) }), 'email')
    const u = await registerUser()
    await resetRequest({ email: u.user.email })
    const { token } = await resetMail(u.user.email)
    expectField(await confirm({ newPassword: 'Reset-horse-42' }), 'token')
    expectField(await confirm({ token: '', newPassword: 'Reset-horse-42' }), 'token')
    expectField(await confirm({ token: 'x'.repeat(43), newPassword: 'Reset-horse-42' }), 'token')
    expectField(await confirm({ token }), 'newPassword')
    expectField(await confirm({ token, newPassword: 'short' }), 'newPassword')
    expectField(await confirm({ token, newPassword: 'onlylowercaseletters' }), 'newPassword')
    expect((await confirm({ token, newPassword: 'Reset-horse-42' })).status).toBe(204)
  })

  test('an expired token, or one replaced by a newer request, is refused', async () => {
    const u = await registerUser()
    await resetRequest({ email: u.user.email })
    const first = await resetMail(u.user.email)
    await db
      .update(passwordResets)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(passwordResets.tokenHash, sha256(first.token)))
    expectField(await confirm({ token: first.token, newPassword: 'Reset-horse-42' }), 'token')
    await resetRequest({ email: u.user.email })
    let second = await resetMail(u.user.email)
    for (let i = 0; second.token === first.token && i < 100; i++) second = await resetMail(u.user.email)
    await resetRequest({ email: u.user.email })
    let third = await resetMail(u.user.email)
    for (let i = 0; third.token === second.token && i < 100; i++) third = await resetMail(u.user.email)
    expectField(await confirm({ token: second.token, newPassword: 'Reset-horse-42' }), 'token')
    expect((await confirm({ token: third.token, newPassword: 'Reset-horse-42' })).status).toBe(204)
  })
})
