// Idempotency keys (src/plugins/idempotency.ts): one row per (user, key) with the request
// fingerprint and, once completed, the exact response to replay. Rows expire after 24 h.
import { sql } from 'drizzle-orm'
import { check, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core'

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    // No FK to users: the claim is on the checkout hot path and the auth macro already proved the user.
    userId: uuid().notNull(),
    key: text().notNull(),
    /** sha256 of method + path + canonical JSON body */
    fingerprint: text().notNull(),
    method: text().notNull(),
    path: text().notNull(),
    state: text().$type<'in_progress' | 'completed'>().notNull().default('in_progress'),
    responseStatus: integer(),
    responseBody: text(),
    responseHeaders: jsonb().$type<Record<string, string>>(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.key] }),
    index('idempotency_keys_expires_idx').on(t.expiresAt),
    check('idempotency_keys_state_check', sql`${t.state} in ('in_progress', 'completed')`),
    check('idempotency_keys_completed_has_response', sql`${t.state} = 'in_progress' or ${t.responseStatus} is not null`),
  ],
)
