// Opaque pagination cursors: base64url JSON of the last row's sort key. A cursor the server did
// not make is a client mistake (422 naming `cursor`), never a 500.
import { ValidationProblem } from './errors'
import { isUuid } from './uuid'

/** A timestamp as Postgres prints it (cursor keys of time-sorted pages). */
const PG_TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(?:[+-](\d{2})(?::?(\d{2}))?|Z)?$/

/**
 * A timestamp Postgres will take as timestamptz: the shape it prints and every field in range
 * (the shape alone lets "2026-13-45 25:61:61" or year 0 through to a 500).
 */
export function isPgTimestamp(v: unknown): v is string {
  const m = typeof v === 'string' ? PG_TIMESTAMP_RE.exec(v) : null
  if (!m) return false
  const [y, mo, d, h, mi, s, , oh = 0, om = 0] = m.slice(1).map((x) => (x === undefined ? undefined : Number(x))) as number[]
  const daysInMonth = new Date(Date.UTC(2000, mo ?? 0, 0)).getUTCDate() - (mo === 2 && !isLeap(y!) ? 1 : 0)
  return y! >= 1 && mo! >= 1 && mo! <= 12 && d! >= 1 && d! <= daysInMonth && h! <= 23 && mi! <= 59 && s! <= 59 && oh <= 15 && om <= 59
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0

/** An ISO 8601 instant as Date#toISOString prints it, years 1–9999 (Postgres and JS both hold it). */
export function isIsoInstant(v: unknown): v is string {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(v) || v.startsWith('0000')) return false
  const t = Date.parse(v)
  return Number.isFinite(t) && new Date(t).toISOString() === v
}

/** A float8 as Postgres prints it (finite: no NaN/Infinity, which no score here takes). */
export const isPgFloat = (v: unknown): v is string =>
  typeof v === 'string' && /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(v) && Number.isFinite(Number(v))

export const INT4_MIN = -2_147_483_648
export const INT4_MAX = 2_147_483_647

/** An int4 as Postgres prints it. */
export const isPgInt4 = (v: unknown): v is string =>
  typeof v === 'string' && /^-?\d{1,10}$/.test(v) && Number(v) >= INT4_MIN && Number(v) <= INT4_MAX

export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url')
}

export function decodeCursor(cursor: string | undefined, arity: number): unknown[] | undefined {
  if (cursor === undefined || cursor === '') return undefined
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(key) && key.length === arity) return key
  } catch {}
  throw ValidationProblem.field('query.cursor', 'is not a cursor returned by this endpoint')
}

/** The cursor of a page sorted by id alone (UUIDv7 ids are time-ordered): the last id, checked. */
export function decodeIdCursor(cursor: string | undefined): string | undefined {
  const key = decodeCursor(cursor, 1)
  if (key === undefined) return undefined
  if (!isUuid(key[0])) throw ValidationProblem.field('query.cursor', 'is not a cursor returned by this endpoint')
  return key[0]
}

export type Page<T> = { items: T[]; nextCursor: string | null }

/** Fetch `limit + 1` rows, then call this: it trims the extra row and builds the cursor. */
export function toPage<T>(rows: T[], limit: number, keyOf: (row: T) => unknown[]): Page<T> {
  const items = rows.slice(0, limit)
  const last = items[items.length - 1]
  return { items, nextCursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null }
}
