// Refresh tokens (opaque, stored only as SHA-256 hashes, rotated within a family) and the security
// audit log. A family is one login; reuse of a rotated token revokes every token of the family.
import { sql } from 'drizzle-orm'
import { type AnyPgColumn, check, index, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { users } from './users'

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    /** hex SHA-256 of the opaque token: the token is 32 random bytes, so a fast hash is enough. */
    tokenHash: text().notNull(),
    familyId: uuid().notNull(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    parentId: uuid().references((): AnyPgColumn => refreshTokens.id, { onDelete: 'set null' }),
    // No FK: rotation marks the old row (the race fence) before inserting its successor, in one tx.
    replacedBy: uuid(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    revokedAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('refresh_tokens_hash_key').on(t.tokenHash),
    index('refresh_tokens_family_idx').on(t.familyId),
    index('refresh_tokens_user_idx').on(t.userId),
  ],
)

/** Password reset tokens: 32 random bytes sent by email, only the SHA-256 stored. `used_at` is the
 *  single-use fence (a conditional UPDATE claims the token); a newer request supersedes older ones. */
export const passwordResets = pgTable(
  'password_resets',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    tokenHash: text().notNull(),
    userId: uuid()
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    usedAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('password_resets_hash_key').on(t.tokenHash), index('password_resets_user_idx').on(t.userId)],
)

export const AUDIT_EVENTS = [
  'register',
  'login_success',
  'login_failure',
  'refresh_reuse_detected',
  'role_change',
  'admin_ensured',
  'logout',
  'user_delete',
  'password_change',
  'password_reset_request',
  'password_reset',
  'risk_rules_change',
  'risk_review_approve',
  'risk_review_reject',
] as const
export type AuditEvent = (typeof AUDIT_EVENTS)[number]

export const auditLog = pgTable(
  'audit_log',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    event: text({ enum: AUDIT_EVENTS }).notNull(),
    /** Null for failures against unknown emails; no FK so the trail survives user deletion. */
    userId: uuid(),
    ip: text(),
    requestId: text(),
    details: jsonb().notNull().default({}).$type<Record<string, unknown>>(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('audit_log_user_idx').on(t.userId, t.createdAt),
    index('audit_log_event_idx').on(t.event, t.createdAt),
    check('audit_log_event_check', sql`${t.event} in (${sql.raw(AUDIT_EVENTS.map((e) => `'${e}'`).join(', '))})`),
  ],
)
