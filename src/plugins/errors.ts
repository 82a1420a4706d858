// Every error leaves as RFC 9457 application/problem+json with a stable `code`; stack traces never
// reach the client; unexpected errors are logged with the request id and answered 500.
import { Elysia, type ValidationError } from 'elysia'
import { logger } from '../infra/logger'
import { AppError, type FieldError } from '../lib/errors'
import { requestIdOf } from './request-id'

export type Problem = {
  type: string
  title: string
  status: number
  detail: string
  instance: string
  code: string
  requestId: string
  [extra: string]: unknown
}

export const PROBLEM_TYPE_BASE = 'https://stampede.dev/problems/'

/** Status of problem responses by request: Elysia's afterResponse does not see them otherwise. */
export const problemStatus = new WeakMap<Request, number>()

export function problemResponse(
  request: Request,
  status: number,
  code: string,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const requestId = requestIdOf(request)
  problemStatus.set(request, status)
  const body: Problem = {
    type: PROBLEM_TYPE_BASE + code.replaceAll('_', '-'),
    title,
    status,
    detail,
    instance: new URL(request.url).pathname,
    code,
    requestId,
    ...extra,
  }
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/problem+json;charset=utf-8', 'x-request-id': requestId, ...headers },
  })
}

type SchemaLike = { type?: string; minimum?: number; maximum?: number; anyOf?: SchemaLike[] }

/** Describes a numeric schema ("an integer from 1 to 100") for union errors TypeBox leaves vague. */
function describeNumber(schema: SchemaLike | undefined): string | null {
  const branch = schema?.anyOf?.find((b) => b.type === 'integer' || b.type === 'number') ?? schema
  if (!branch || (branch.type !== 'integer' && branch.type !== 'number')) return null
  const kind = branch.type === 'integer' ? 'an integer' : 'a number'
  const { minimum: lo, maximum: hi } = branch
  if (lo !== undefined && hi !== undefined) return `must be ${kind} from ${lo} to ${hi}`
  if (lo !== undefined) return `must be ${kind} ≥ ${lo}`
  if (hi !== undefined) return `must be ${kind} ≤ ${hi}`
  return `must be ${kind}`
}

/** A readable message: TypeBox's union summaries ("one of: 'integer', 'integer'") are noise. */
function messageOf(e: { message?: string; summary?: string; schema?: SchemaLike }): string {
  const numeric = e.message === 'Expected union value' ? describeNumber(e.schema) : null
  if (numeric) return numeric
  const union = e.summary?.match(/should be one of: (.*)$/)
  if (union?.[1]) return `must be ${[...new Set(union[1].split(', ').map((s) => s.replaceAll("'", '')))].join(' or ')}`
  if (e.message && e.message !== 'Expected union value') return e.message
  return e.summary || 'is invalid'
}

/** Elysia validation errors → one entry per field. `path` is a JSON pointer like /items/0/quantity. */
function fieldErrors(error: ValidationError, request: Request): FieldError[] {
  const out = new Map<string, string>()
  // Query values that fail numeric coercion arrive as type "property" without a path:
  // recover the parameter name by the offending value.
  let where = error.type === 'body' ? '' : `${error.type}.`
  let fallback: string = error.type
  if (error.type === 'property') {
    const params = [...new URL(request.url).searchParams].find(([, v]) => v === String(error.value))
    where = 'query.'
    fallback = params ? `query.${params[0]}` : 'query'
  }
  for (const e of error.all) {
    const path = 'path' in e && e.path ? e.path.replace(/^\//, '').replaceAll('/', '.') : ''
    const field = path ? `${where}${path}` : fallback
    if (!out.has(field)) out.set(field, messageOf(e as Parameters<typeof messageOf>[0]))
  }
  return [...out].map(([field, message]) => ({ field, message }))
}

// Route table used to tell 405 from 404: a path that exists under another method is a 405.
type RouteMatcher = { re: RegExp; method: string }
let matchers: RouteMatcher[] | null = null
let routesOf: () => { method: string; path: string }[] = () => []

export function registerRoutesForMethodCheck(fn: () => { method: string; path: string }[]): void {
  routesOf = fn
  matchers = null
}

function allowedMethods(pathname: string): string[] {
  matchers ??= routesOf().map((r) => ({
    method: r.method.toUpperCase(),
    re: new RegExp(
      `^${r.path
        .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
        .replace(/:[^/]+/g, '[^/]+')
        .replace(/\*/g, '.*')}/?$`,
    ),
  }))
  return [...new Set(matchers.filter((m) => m.re.test(pathname)).map((m) => m.method))]
}

export const errorsPlugin = new Elysia({ name: 'errors' })
  .error({ AppError })
  .onError({ as: 'global' }, ({ code, error: thrown, request, set }) => {
    // Drizzle wraps what the driver throws (e.g. DatabaseBusyError) in a DrizzleQueryError.
    const cause = (thrown as { cause?: unknown }).cause
    const error = cause instanceof AppError ? cause : thrown
    if (error instanceof AppError) {
      return problemResponse(request, error.status, error.code, error.title, error.message, error.extra, error.headers)
    }
    switch (code) {
      case 'VALIDATION': {
        const v = error as ValidationError
        if (v.type === 'response') break
        const errors = fieldErrors(v, request)
        return problemResponse(
          request,
          422,
          'validation_failed',
          'Unprocessable Content',
          errors.map((e) => `${e.field}: ${e.message}`).join('; '),
          { errors },
        )
      }
      case 'PARSE':
        return problemResponse(request, 400, 'malformed_body', 'Bad Request', 'The request body could not be parsed (malformed JSON?)')
      case 'NOT_FOUND': {
        const path = new URL(request.url).pathname
        const allow = allowedMethods(path).filter((m) => m !== request.method && m !== 'ALL' && m !== 'OPTIONS')
        if (allow.length > 0 && request.method !== 'HEAD') {
          return problemResponse(
            request,
            405,
            'method_not_allowed',
            'Method Not Allowed',
            `${request.method} is not supported on ${path}`,
            { allowed: allow },
            { allow: allow.join(', ') },
          )
        }
        return problemResponse(request, 404, 'route_not_found', 'Not Found', `No route for ${request.method} ${path}`)
      }
      case 'INVALID_COOKIE_SIGNATURE':
        return problemResponse(request, 400, 'bad_cookie', 'Bad Request', 'Invalid cookie signature')
    }
    // Bun rejects oversized bodies itself; anything else unexpected is ours: log it, hide it.
    const status = typeof set.status === 'number' && set.status === 413 ? 413 : 500
    if (status === 413) return problemResponse(request, 413, 'payload_too_large', 'Content Too Large', 'Request body too large')
    logger.error({ err: error, path: new URL(request.url).pathname }, 'unhandled error')
    return problemResponse(request, 500, 'internal_error', 'Internal Server Error', 'An unexpected error occurred; it has been logged')
  })
