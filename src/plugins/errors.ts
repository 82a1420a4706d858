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
    headers: { 'content-type': 'application/problem+json', 'x-request-id': requestId, ...headers },
  })
}

/** Elysia validation errors → field list. `path` is a JSON pointer like /items/0/quantity. */
function fieldErrors(error: ValidationError): FieldError[] {
  const where = error.type === 'body' ? '' : `${error.type}.`
  const seen = new Set<string>()
  const out: FieldError[] = []
  for (const e of error.all) {
    const path = 'path' in e && e.path ? e.path.replace(/^\//, '').replaceAll('/', '.') : ''
    const field = `${where}${path}`.replace(/\.$/, '') || error.type
    const message = ('summary' in e && e.summary) || ('message' in e && e.message) || 'is invalid'
    const k = `${field}|${message}`
    if (!seen.has(k)) out.push({ field, message: String(message) })
    seen.add(k)
  }
  return out
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
  .onError({ as: 'global' }, ({ code, error, request, set }) => {
    if (error instanceof AppError) {
      return problemResponse(request, error.status, error.code, error.title, error.message, error.extra, error.headers)
    }
    switch (code) {
      case 'VALIDATION': {
        const v = error as ValidationError
        if (v.type === 'response') break
        const errors = fieldErrors(v)
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
    logger.error({ err: error, requestId: requestIdOf(request), path: new URL(request.url).pathname }, 'unhandled error')
    return problemResponse(request, 500, 'internal_error', 'Internal Server Error', 'An unexpected error occurred; it has been logged')
  })
