// Schemas of the admin user routes.
import { t } from 'elysia'
import { PublicUser, Role } from '../auth/model'

export const MAX_PAGE = 100

export const ListUsersQuery = t.Object({
  // Bounds are checked in the service: Elysia reports a failed bound on a coerced query number
  // without its name ("property"), and every 422 here must name its field.
  limit: t.Optional(t.Integer({ description: `page size, 1–${MAX_PAGE} (default 20)` })),
  cursor: t.Optional(t.String({ maxLength: 200, description: 'nextCursor of the previous page' })),
})

export const UserPage = t.Object({ items: t.Array(PublicUser), nextCursor: t.Union([t.String(), t.Null()]) })

export const UserIdParams = t.Object({ id: t.String({ format: 'uuid' }) })

export const ChangeRoleBody = t.Object({ role: Role })
