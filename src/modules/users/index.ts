// Admin user management: list users, change a user's role. Every route is `{ auth: 'admin' }`.
import { Elysia } from 'elysia'
import { clientIp } from '../../lib/client-ip'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { requestIdPlugin } from '../../plugins/request-id'
import { PublicUser } from '../auth/model'
import { ChangeRoleBody, ListUsersQuery, UserIdParams, UserPage } from './model'
import { changeRole, listUsers } from './service'

export const usersModule = new Elysia({ name: 'users-module', prefix: '/admin/users' })
  .use(requestIdPlugin)
  .use(authPlugin)
  .get('', ({ query }) => listUsers(query.limit, query.cursor), {
    auth: 'admin',
    query: ListUsersQuery,
    response: { 200: UserPage, ...problems(401, 403, 422, 429) },
    detail: { tags: ['admin'], summary: 'List users (oldest first, keyset pagination)' },
  })
  .patch(
    '/:id',
    ({ params, body, user, request, server, requestId }) =>
      changeRole(user.id, params.id, body.role, { ip: clientIp(server, request), requestId }),
    {
      auth: 'admin',
      params: UserIdParams,
      body: ChangeRoleBody,
      response: { 200: PublicUser, ...problems(400, 401, 403, 404, 409, 422, 429) },
      detail: {
        tags: ['admin'],
        summary: "Change a user's role",
        description: 'Audited. The new role reaches the user at their next token refresh (access tokens live 15 minutes).',
      },
    },
  )
