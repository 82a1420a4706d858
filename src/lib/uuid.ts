// The one UUID check: the canonical 8-4-4-4-12 hex form that Postgres parses. Used by the TypeBox
// `uuid` format (src/plugins/openapi.ts) and by hand-written checks of ids inside bodies, cursors
// and events, so a malformed id is a 422 naming its field, never a Postgres error.
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const isUuid = (v: unknown): v is string => typeof v === 'string' && UUID_RE.test(v)
