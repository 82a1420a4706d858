// The one UUID check: the canonical 8-4-4-4-12 hex form that Postgres parses. Used by the TypeBox
// `uuid` format (src/plugins/openapi.ts) and by hand-written checks of ids inside bodies, cursors
// and events, so a malformed id is a 422 naming its field, never a Postgres error.
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID_RE.test(v)

/**
 * Ids as ONE Postgres array literal, to bind as text and cast (`= any($1::uuid[])`): postgres.js
 * sends sql.array() as a bare string on a fresh pool's first query (its array types are not
 * fetched yet), and a literal keeps the statement text the same for any number of ids (prepared
 * once). Pass uuids only (isUuid): anything else fails the cast.
 */
export const uuidArray = (ids: readonly string[]): string => `{${ids.join(',')}}`
