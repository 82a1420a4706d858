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

/** Lower-cases, in place, the UUID-format values under `holder[key]`. */
type Lower = (holder: Record<string | number, unknown>, key: string | number) => void

/**
 * What the input rules do for one route, worked out once from its schemas: the UUID lowerers
 * (null when the schema has no UUID field) and whether its body is JSON read by the parser.
 */
type Plan = RouteSchemas & { lowerParams: Lower | null; lowerQuery: Lower | null; lowerBody: Lower | null; jsonBody: boolean }

/** A lowerer for `schema` (unions: every branch that has the key), or null if it has no UUID field. */
function compileLower(schema: Schema | undefined): Lower | null {
  if (!schema) return null
  const isUuid = [schema, ...(schema.anyOf ?? []), ...(schema.oneOf ?? [])].some((s) => s.format === 'uuid')
  const subs = [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])]
    .map(compileLower)
    .filter((f): f is Lower => f !== null)
  const item = Array.isArray(schema.items) ? null : compileLower(schema.items)
  const props = Object.entries(schema.properties ?? {})
    .map(([k, s]) => [k, compileLower(s)] as const)
    .filter((e): e is readonly [string, Lower] => e[1] !== null)
  if (!isUuid && subs.length === 0 && !item && props.length === 0) return null
  return (holder, key) => {
    const value = holder[key]
    if (value === null || value === undefined) return
    if (typeof value === 'string') {
      if (isUuid) holder[key] = value.toLowerCase()
      return
    }
    for (const f of subs) f(holder, key)
    if (Array.isArray(value)) {
      if (item) for (let i = 0; i < value.length; i++) item(value as unknown as Record<number, unknown>, i)
    } else if (typeof value === 'object') {
      const obj = value as Record<string, unknown>
      for (const [k, f] of props) if (k in obj) f(obj, k)
    }
  }
}

const byKey = fromRoutes(
  (routes) =>
    new Map(
      routes.map((r): [string, Plan] => {
        const pick = (s: unknown) => (s && typeof s === 'object' ? (s as Schema) : undefined)
        const h = r.hooks
        const parse = Array.isArray(h.parse) ? h.parse.length > 0 : Boolean(h.parse)
        const schemas = { body: pick(h.body), query: pick(h.query), params: pick(h.params), parse }
        return [
          `${r.method} ${r.path}`,
          {
            ...schemas,
            lowerParams: compileLower(schemas.params),
            lowerQuery: compileLower(schemas.query),
            lowerBody: compileLower(schemas.body),
            // A body read as JSON: a JSON schema (not a raw string like the webhook's), no custom parser.
            jsonBody: !!schemas.body && schemas.body.type !== 'string' && !parse,
          },
        ]
      }),
    ),
)

const planOf = (method: string, route: string): Plan | undefined => {
  const index = byKey()
  return index.get(`${method === 'HEAD' ? 'GET' : method} ${route}`) ?? index.get(`ALL ${route}`)
}

/** The schemas of a route as Elysia compiled them (string model names are not used here). */
export const routeSchemas = (method: string, route: string): RouteSchemas | undefined => planOf(method, route)

/** Whether any string (key or value) holds a NUL: the common answer, no, without allocating. */
function hasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000')
  if (Array.isArray(value)) {
    for (const v of value) if (hasNul(v)) return true
  } else if (value && typeof value === 'object') {
    for (const k in value) if (k.includes('\u0000') || hasNul((value as Record<string, unknown>)[k])) return true
  }
  return false
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

/** The input problem found before validation, if any (the errors plugin merges it into a 422). */
export const pendingInputProblem = (ctx: object): AppError | undefined => (ctx as InputContext)[PENDING]

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

// Kept in the request's context (the same object from onRequest to afterResponse) for the errors
// plugin; a symbol, so no client field can collide with it.
const PENDING = Symbol('inputProblem')
type InputContext = { [PENDING]?: AppError }

/**
 * Lower-cases UUID fields in place and returns the first problem found (415, or 422 for NULs).
 * The query is only looked at on routes that declare one: Elysia parses it only for them (read
 * here by a computed name, so Elysia's static analysis does not make every route parse its query
 * string), and a route without a query schema never reads its query.
 */
function inspect(request: Request, route: string, body: unknown, holder: Record<string | symbol, unknown>): AppError | undefined {
  const plan = planOf(request.method, route)
  if (!plan) return
  plan.lowerParams?.(holder, 'params')
  if (plan.query) plan.lowerQuery?.(holder, QUERY)
  if (plan.jsonBody && (body !== undefined || hasBody(request))) {
    const type = request.headers.get('content-type')
    if (!isJson(type)) return new UnsupportedMediaTypeError(type)
    plan.lowerBody?.(holder, 'body')
  }
  const query = plan.query ? holder[QUERY] : undefined
  if (!hasNul(holder.params) && !hasNul(query) && !hasNul(holder.body)) return
  const nul = [...nulFields(holder.params, 'params'), ...nulFields(query, 'query'), ...nulFields(holder.body, 'body')]
  if (nul.length > 0) return new ValidationProblem(nul)
}

const QUERY: string = ['qu', 'ery'].join('')

// Elysia reads each hook's source to decide what to prepare per request (query, headers, cookies):
// passing the context itself to a function makes it prepare everything for every route. So the
// hook names what it reads and hands the context on under another name (`holder`).
export const inputPlugin = new Elysia({ name: 'input' })
  .onTransform({ as: 'global' }, (ctx) => {
    const { request, route, body } = ctx
    const holder = ctx as unknown as Record<string | symbol, unknown> & InputContext
    const problem = inspect(request, route, body, holder)
    if (problem) holder[PENDING] = problem
  })
  .onBeforeHandle({ as: 'global' }, (ctx) => {
    const holder = ctx as unknown as InputContext
    const problem = holder[PENDING]
    if (problem) throw problem
  })
