// Admin user management: list users, change a user's role, delete a user. Every route is
// `{ auth: 'admin' }`.
import { Elysia, t } from 'elysia'
import { clientIp } from '../../lib/client-ip'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { requestIdPlugin } from '../../plugins/request-id'
import { PublicUser } from '../auth/model'
import { ChangeRoleBody, ListUsersQuery, UserIdParams, UserPage } from './model'
import { changeRole, deleteUser, listUsers } from './service'

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
        description:
          "Audited. The user's access tokens stop working at once (401 `token_revoked`); their next refresh carries the new role.",
      },
    },
  )
  .delete(
    '/:id',
    async ({ params, user, request, server, requestId, status }) => {
      await deleteUser(user.id, params.id, { ip: clientIp(server, request), requestId })
      return status(204, undefined)
    },
    {
      auth: 'admin',
      params: UserIdParams,
      response: { 204: t.Void({ description: 'Deleted; its tokens no longer work' }), ...problems(401, 403, 404, 409, 422, 429) },
      detail: {
        tags: ['admin'],
        summary: 'Delete a user',
        description:
          'Audited. Refresh and access tokens of the account stop working at once. A user with orders is kept: 409 `user_has_orders`; your own account: 409 `own_account`.',
      },
    },
  )
