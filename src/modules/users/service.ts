// Admin view of users: keyset-paginated listing and role changes (audited, in one transaction).
import { asc, eq, gt, sql } from 'drizzle-orm'
import { users } from '../../../db/schema'
import { db } from '../../infra/db'
import { decodeIdCursor, type Page, toPage } from '../../lib/cursor'
import { ConflictError, NotFoundError, ValidationProblem } from '../../lib/errors'
import { isForeignKeyViolation } from '../../lib/pg-errors'
import type { Role } from '../../plugins/auth'
import type { PublicUser } from '../auth/model'
import { audit, type RequestMeta, toPublicUser } from '../auth/service'
import { forgetTokenState } from '../auth/token-state'
import { MAX_PAGE } from './model'

/** Oldest first by id (UUIDv7 ids are time-ordered), so new sign-ups never shift earlier pages. */
export async function listUsers(limit = 20, cursor?: string): Promise<Page<PublicUser>> {
  if (limit < 1 || limit > MAX_PAGE) throw ValidationProblem.field('limit', `must be from 1 to ${MAX_PAGE}`)
  const afterId = decodeIdCursor(cursor)
  const rows = await db
    .select()
    .from(users)
    .where(afterId ? gt(users.id, afterId) : undefined)
    .orderBy(asc(users.id))
    .limit(limit + 1)
  return toPage(rows.map(toPublicUser), limit, (u) => [u.id])
}

/**
 * Sets a user's role. Admins cannot change their own role, so the last admin cannot lock everyone
 * out. A change revokes the user's access tokens (token version): it holds from their next request.
 */
export async function changeRole(actorId: string, userId: string, role: Role, meta: RequestMeta): Promise<PublicUser> {
  if (actorId === userId) throw new ConflictError('Admins cannot change their own role', 'own_role')
  const { user, changed } = await db.transaction(async (tx) => {
    const [before] = await tx.select({ role: users.role }).from(users).where(eq(users.id, userId)).for('update')
    if (!before) throw new NotFoundError('User')
    const changed = before.role !== role
    const [after] = await tx
      .update(users)
      .set({ role, updatedAt: sql`now()`, ...(changed ? { tokenVersion: sql`${users.tokenVersion} + 1` } : {}) })
      .where(eq(users.id, userId))
      .returning()
    if (!after) throw new NotFoundError('User')
    if (changed) await audit(tx, 'role_change', userId, meta, { from: before.role, to: role, by: actorId })
    return { user: toPublicUser(after), changed }
  })
  if (changed) await forgetTokenState(userId)
  return user
}

/**
 * Deletes an account (its refresh tokens, reviews and carts' rows go with it by cascade); its
 * tokens stop working at once. An account with orders is kept (409): orders are records.
 */
export async function deleteUser(actorId: string, userId: string, meta: RequestMeta): Promise<void> {
  if (actorId === userId) throw new ConflictError('Admins cannot delete their own account', 'own_account')
  await db
    .transaction(async (tx) => {
      const [gone] = await tx.delete(users).where(eq(users.id, userId)).returning({ email: users.email, role: users.role })
      if (!gone) throw new NotFoundError('User')
      await audit(tx, 'user_delete', userId, meta, { by: actorId, role: gone.role })
    })
    .catch((e) => {
      if (isForeignKeyViolation(e)) throw new ConflictError('This user has orders and cannot be deleted', 'user_has_orders')
      throw e
    })
  await forgetTokenState(userId)
}
