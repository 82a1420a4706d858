// Input rules every route shares, checked in one place before a handler sees the request:
// - JSON routes take application/json only (415 otherwise: a form or text/plain body would be
//   half-parsed into strings or fail validation with a misleading message);
// - no string may hold a NUL byte (Postgres text cannot store it: it would be a 500);
// - UUIDs are case-insensitive (RFC 9562) but compared as text in caches, the Redis gate and
//   order lines, so every UUID-format field is lower-cased before validation.
// Unknown fields are refused by the validator itself (the app sets `normalize: false`).
// The first two are found before validation (`transform`) and answered after it (`beforeHandle`,
// or merged into the validation problem), so one 422 lists every bad field, and the order against
// authentication is the validator's.
import { Elysia } from 'elysia'
import { AppError, type FieldError, ValidationProblem } from '../lib/errors'
import { fieldError } from '../lib/field-errors'
import { fromRoutes } from './route-table'

type Schema = {
  type?: string | string[]
  format?: string
  properties?: Record<string, Schema>
  items?: Schema | Schema[]
  anyOf?: Schema[]
  oneOf?: Schema[]
  allOf?: Schema[]
}
/** `parse`: the route reads its body itself (e.g. the webhook's raw text). */
type RouteSchemas = { body?: Schema; query?: Schema; params?: Schema; parse: boolean }

const byKey = fromRoutes(
  (routes) =>
    new Map(
      routes.map((r): [string, RouteSchemas] => {
        const pick = (s: unknown) => (s && typeof s === 'object' ? (s as Schema) : undefined)
        const h = r.hooks
        const parse = Array.isArray(h.parse) ? h.parse.length > 0 : Boolean(h.parse)
        return [`${r.method} ${r.path}`, { body: pick(h.body), query: pick(h.query), params: pick(h.params), parse }]
      }),
    ),
)

/** The schemas of a route as Elysia compiled them (string model names are not used here). */
export function routeSchemas(method: string, route: string): RouteSchemas | undefined {
  const index = byKey()
  return index.get(`${method === 'HEAD' ? 'GET' : method} ${route}`) ?? index.get(`ALL ${route}`)
}

/** Lower-cases the values of UUID-format fields in place (unions: every branch that has the key). */
function lowerUuids(schema: Schema | undefined, value: unknown, set: (v: string) => void): void {
  if (!schema || value === null || value === undefined) return
  if (typeof value === 'string') {
    const branches = [schema, ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])]
    if (branches.some((s) => s.format === 'uuid')) set(value.toLowerCase())
    return
  }
  for (const s of [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])]) lowerUuids(s, value, set)
  if (Array.isArray(value)) {
    const item = Array.isArray(schema.items) ? undefined : schema.items
    value.forEach((v, i) => {
      lowerUuids(item, v, (s) => {
        value[i] = s
      })
    })
  } else if (typeof value === 'object' && schema.properties) {
    const obj = value as Record<string, unknown>
    for (const [k, s] of Object.entries(schema.properties)) {
      if (k in obj)
        lowerUuids(s, obj[k], (v) => {
          obj[k] = v
        })
    }
  }
}

/** Every string (key or value) holding a NUL, as field errors (JSON pointer and dotted name). */
function nulFields(value: unknown, where: 'body' | 'query' | 'params', path: string[] = [], out: FieldError[] = []): FieldError[] {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) out.push(fieldError(where, path, 'must not contain NUL (\\u0000) characters'))
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => {
      nulFields(v, where, [...path, String(i)], out)
    })
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) out.push(fieldError(where, [...path, k], 'must not contain NUL (\\u0000) characters'))
      else nulFields(v, where, [...path, k], out)
    }
  }
  return out
}

const isJson = (contentType: string | null) => /^application\/json\s*(;|$)/i.test(contentType ?? '')
const hasBody = (r: Request) => r.headers.has('transfer-encoding') || Number(r.headers.get('content-length') ?? 0) > 0

/** Input problems found before validation, answered after it. Keyed by request rather than
 * derived: a hook that passes the whole context on makes Elysia parse headers, cookies and query
 * of every route (its static analysis cannot see which parts are used). */
const pending = new WeakMap<Request, AppError>()

/** The input problem found before validation, if any (the errors plugin merges it into a 422). */
export const pendingInputProblem = (request: Request): AppError | undefined => pending.get(request)

export class UnsupportedMediaTypeError extends AppError {
  constructor(contentType: string | null) {
    super(
      415,
      'unsupported_media_type',
      'Unsupported Media Type',
      `This operation takes an application/json body${contentType ? `, not ${contentType.split(';')[0]}` : ''}`,
      {},
      { 'accept-post': 'application/json' },
    )
  }
}

/** Lower-cases UUID fields in place and returns the first problem found (415, or 422 for NULs). */
function inspect(request: Request, route: string, params: unknown, query: unknown, body: unknown): AppError | undefined {
  const schemas = routeSchemas(request.method, route)
  if (!schemas) return
  if (schemas.params) lowerUuids(schemas.params, params, () => {})
  if (schemas.query) lowerUuids(schemas.query, query, () => {})
  // A body read as JSON: a JSON schema (not a raw string like the webhook's) and no custom parser.
  if (schemas.body && schemas.body.type !== 'string' && !schemas.parse && (body !== undefined || hasBody(request))) {
    const type = request.headers.get('content-type')
    if (!isJson(type)) return new UnsupportedMediaTypeError(type)
    lowerUuids(schemas.body, body, () => {})
  }
  const nul = [...nulFields(params, 'params'), ...nulFields(query, 'query'), ...nulFields(body, 'body')]
  if (nul.length > 0) return new ValidationProblem(nul)
}

// Parameters destructured, never the whole context: see `pending`.
export const inputPlugin = new Elysia({ name: 'input' })
  .onTransform({ as: 'global' }, ({ request, route, params, query, body }) => {
    const problem = inspect(request, route, params, query, body)
    if (problem) pending.set(request, problem)
  })
  .onBeforeHandle({ as: 'global' }, ({ request }) => {
    const problem = pending.get(request)
    if (problem) throw problem
  })
