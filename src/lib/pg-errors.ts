// Postgres errors as thrown by postgres.js, possibly wrapped by Drizzle (`cause`): the SQLSTATE and
// constraint decide what a client mistake was (a unique index is the authority on duplicates).
type PgError = { code?: unknown; constraint_name?: unknown; cause?: unknown }

/** The innermost-first Postgres error in `err`'s cause chain, if any. */
function pgErrorOf(err: unknown): { code: string; constraint?: string } | undefined {
  for (let e = err as PgError | undefined, depth = 0; e && depth < 5; e = e.cause as PgError | undefined, depth++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) {
      return { code: e.code, constraint: typeof e.constraint_name === 'string' ? e.constraint_name : undefined }
    }
  }
  return undefined
}

/** A unique violation (23505), optionally of one named constraint. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const pg = pgErrorOf(err)
  return pg?.code === '23505' && (constraint === undefined || pg.constraint === constraint)
}

/**
 * A foreign key violation: 23503 (NO ACTION), or 23001 restrict_violation, which is what deleting a
 * row others still reference raises when their key says ON DELETE RESTRICT.
 */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = pgErrorOf(err)?.code
  return code === '23503' || code === '23001'
}
