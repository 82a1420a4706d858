// Auth routes: register, login, refresh (rotation), logout, me. HTTP only — rules live in service.ts.
import { Elysia, t } from 'elysia'
import { config } from '../../config'
import { clientIp } from '../../lib/client-ip'
import { problems } from '../../lib/problem-schema'
import { authPlugin, type Role, signAccessToken } from '../../plugins/auth'
import { limitAuthEmail } from '../../plugins/rate-limit'
import { requestIdPlugin } from '../../plugins/request-id'
import { LoginBody, PublicUser, RefreshBody, RegisterBody, TokenPair } from './model'
import { currentUser, type Issued, login, logout, normalizeEmail, type RequestMeta, refresh, register } from './service'

async function tokenPair(issued: Issued) {
  const accessToken = await signAccessToken(issued.user.id, issued.user.role as Role)
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
      await limitAuthEmail(normalizeEmail(body.email), set.headers)
      return tokenPair(await login(body, meta(server, request, requestId)))
    },
    {
      body: LoginBody,
      response: { 200: TokenPair, ...problems(400, 401, 422, 429) },
      detail: {
        tags: ['auth'],
        summary: 'Sign in with email and password',
        description: 'Wrong email and wrong password give the same 401 `invalid_credentials` in about the same time.',
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
          'Refresh tokens are single use. Presenting one that was already exchanged revokes every token of that login (401 `refresh_token_reused`).',
      },
    },
  )
  .post(
    '/logout',
    async ({ body, status }) => {
      await logout(body.refreshToken)
      return status(204, undefined)
    },
    {
      body: RefreshBody,
      response: { 204: t.Void({ description: 'Revoked (or already unknown)' }), ...problems(400, 422, 429) },
      detail: {
        tags: ['auth'],
        summary: 'Revoke the refresh token and every token of its login',
        description: 'Idempotent: unknown tokens also get 204.',
      },
    },
  )
  .get('/me', ({ user }) => currentUser(user.id), {
    auth: 'customer',
    response: { 200: PublicUser, ...problems(401, 429) },
    detail: { tags: ['auth'], summary: 'The signed-in user' },
  })
