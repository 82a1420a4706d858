// Schemas of the admin user routes.
import { t } from 'elysia'
import { PublicUser, Role } from '../auth/model'

export const ListUsersQuery = t.Object({
  limit: t.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: t.Optional(t.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
})

export const UserPage = t.Object({ items: t.Array(PublicUser), nextCursor: t.Union([t.String(), t.Null()]) })

export const UserIdParams = t.Object({ id: t.String({ format: 'uuid' }) })

export const ChangeRoleBody = t.Object({ role: Role })
