// Auth routes: register, login, refresh (rotation), logout, me, password change and reset. HTTP
// only — rules live in service.ts and password.ts.
import { Elysia, t } from 'elysia'
import { config } from '../../config'
import { clientIp } from '../../lib/client-ip'
import { problems } from '../../lib/problem-schema'
import { authPlugin, type Role, signAccessToken } from '../../plugins/auth'
import { limitAuthEmail, limitAuthUser, limitLogin, loginSucceeded } from '../../plugins/rate-limit'
import { requestIdPlugin } from '../../plugins/request-id'
import {
  ChangePasswordBody,
  LoginBody,
  PasswordResetBody,
  PasswordResetConfirmBody,
  PublicUser,
  RefreshBody,
  RegisterBody,
  TokenPair,
} from './model'
import { changePassword, confirmPasswordReset, PASSWORD_RESET_TTL_SECONDS, requestPasswordResetInBackground } from './password'
import { currentUser, type Issued, login, logout, normalizeEmail, type RequestMeta, refresh, register } from './service'

async function tokenPair(issued: Issued) {
  const accessToken = await signAccessToken(issued.user.id, issued.user.role as Role, issued.tokenVersion)
  return {
    user: issued.user,
    accessToken,
    refreshToken: issued.refreshToken,
    tokenType: 'Bearer' as const,
    expiresIn: config.ACCESS_TOKEN_TTL_SECONDS,
  }
}

const meta = (server: Parameters<typeof clientIp>[0], request: Request, requestId: string): RequestMeta => ({
  ip: clientIp(server, request),
  requestId,
})

export const authModule = new Elysia({ name: 'auth-module', prefix: '/auth' })
  .use(requestIdPlugin)
  .use(authPlugin)
  .post(
    '/register',
    async ({ body, request, server, requestId, set, status }) => {
      await limitAuthEmail(normalizeEmail(body.email), set.headers)
      return status(201, await tokenPair(await register(body, meta(server, request, requestId))))
    },
    {
      body: RegisterBody,
      response: { 201: TokenPair, ...problems(400, 409, 422, 429) },
      detail: {
        tags: ['auth'],
        summary: 'Create a customer account and sign in',
        description:
          'Password: 10–128 characters mixing at least two character classes (422 names the rule). A taken email is 409 `email_taken`.',
      },
    },
  )
  .post(
    '/login',
    async ({ body, request, server, requestId, set }) => {
      const m = meta(server, request, requestId)
      const email = normalizeEmail(body.email)
      await limitLogin(m.ip, email, set.headers)
      const issued = await login(body, m)
      await loginSucceeded(m.ip, email)
      return tokenPair(issued)
    },
    {
      body: LoginBody,
      response: { 200: TokenPair, ...problems(400, 401, 422, 429) },
      detail: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        description:
          'Wrong email and wrong password give the same 401 `invalid_credentials` in about the same time. Failed attempts are limited per client IP and email (429; a success resets the count), so guesses from other IPs never lock the account owner out.',
      },
    },
  )
  .post(
    '/refresh',
    async ({ body, request, server, requestId }) => tokenPair(await refresh(body.refreshToken, meta(server, request, requestId))),
    {
      body: RefreshBody,
      response: { 200: TokenPair, ...problems(400, 401, 422, 429) },
      detail: {
        tags: ['auth'],
        summary: 'Exchange a refresh token for a new token pair',
        description:
          'Refresh tokens are single use. The same token sent again within 10 s of its exchange (two tabs, a retried request) gets the same new refresh token while that one is unused; otherwise presenting an exchanged token revokes every token of that login (401 `refresh_token_reused`).',
      },
    },
  )
  .post(
    '/logout',
    async ({ body, status, request, server, requestId }) => {
      await logout(body.refreshToken, meta(server, request, requestId))
      return status(204, undefined)
    },
    {
      body: RefreshBody,
      response: { 204: t.Void({ description: 'Revoked (or already unknown)' }), ...problems(400, 422, 429) },
      detail: {
        tags: ['auth'],
        summary: 'Revoke the refresh token and every token of its login',
        description:
          "Idempotent: unknown tokens also get 204. The user's access tokens stop working at once (all logins: they carry one per-user version); other logins get a new one from their refresh token.",
      },
    },
  )
  .get('/me', ({ user }) => currentUser(user.id), {
    auth: 'customer',
    response: { 200: PublicUser, ...problems(401, 429) },
    detail: { tags: ['auth'], summary: 'The signed-in user' },
  })
  .post(
    '/password',
    async ({ body, user, request, server, requestId, set }) => {
      await limitAuthUser(user.id, set.headers)
      return tokenPair(await changePassword(user.id, body, meta(server, request, requestId)))
    },
    {
      auth: 'customer',
      body: ChangePasswordBody,
      response: { 200: TokenPair, ...problems(400, 401, 422, 429) },
      detail: {
        tags: ['auth'],
        summary: 'Change the password (signed in)',
        description:
          'Needs the current password (422 `currentPassword` when wrong). Every login of the account ends: refresh tokens are revoked and access tokens stop working at once; the answer is a new token pair for this caller.',
      },
    },
  )
  .post(
    '/password-reset',
    async ({ body, request, server, requestId, set, status }) => {
      await limitAuthEmail(normalizeEmail(body.email), set.headers)
      requestPasswordResetInBackground(body.email, meta(server, request, requestId))
      return status(202, { message: 'If this email has an account, a reset code is on its way.' })
    },
    {
      body: PasswordResetBody,
      response: {
        202: t.Object({ message: t.String() }, { description: 'Accepted: an email is on its way if the address has an account' }),
        ...problems(400, 422, 429),
      },
      detail: {
        tags: ['auth'],
        summary: 'Email a password reset code',
        description: `Always 202, whether or not the email has an account (nothing to learn here). The code works once, for ${PASSWORD_RESET_TTL_SECONDS / 60} minutes; a newer request replaces it. Limited per IP and per email.`,
      },
    },
  )
  .post(
    '/password-reset/confirm',
    async ({ body, request, server, requestId, status }) => {
      await confirmPasswordReset(body, meta(server, request, requestId))
      return status(204, undefined)
    },
    {
      body: PasswordResetConfirmBody,
      response: { 204: t.Void({ description: 'Password set; every login of the account has ended' }), ...problems(400, 422, 429) },
      detail: {
        tags: ['auth'],
        summary: 'Set a new password with an emailed reset code',
        description:
          'A wrong, expired or used code is 422 `token`; a password outside the policy is 422 `newPassword` (the code stays usable). On success every refresh and access token of the account is revoked: sign in with the new password.',
      },
    },
  )
