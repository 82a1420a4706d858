// Opaque pagination cursors: base64url JSON of the last row's sort key. A cursor the server did
// not make is a client mistake (422 naming `cursor`), never a 500.
import { ValidationProblem } from './errors'
import { isUuid } from './uuid'

/** A timestamp as Postgres prints it (cursor keys of time-sorted pages). */
export const PG_TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)?$/

export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

export function decodeCursor(cursor: string | undefined, arity: number): unknown[] | undefined {
  if (cursor === undefined || cursor === '') return undefined
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(key) && key.length === arity) return key
  } catch {}
  throw ValidationProblem.field('cursor', 'is not a cursor returned by this endpoint')
}

/** The cursor of a page sorted by id alone (UUIDv7 ids are time-ordered): the last id, checked. */
export function decodeIdCursor(cursor: string | undefined): string | undefined {
  const key = decodeCursor(cursor, 1)
  if (key === undefined) return undefined
  if (!isUuid(key[0])) throw ValidationProblem.field('cursor', 'is not a cursor returned by this endpoint')
  return key[0]
}

export type Page<T> = { items: T[]; nextCursor: string | null }

/** Fetch `limit + 1` rows, then call this: it trims the extra row and builds the cursor. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => unknown[]): Page<T> {
  const items = rows.slice(0, limit)
  const last = items[items.length - 1]
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null }
}
