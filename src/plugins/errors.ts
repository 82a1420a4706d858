// Every error leaves as RFC 9457 application/problem+json with a stable `code`; stack traces never
// reach the client; unexpected errors are logged with the request id and answered 500.

import { Elysia, type ValidationError } from 'elysia'
import { busyError } from '../infra/db-timeouts'
import { logger } from '../infra/logger'
import { AppError, type FieldError, ValidationProblem } from '../lib/errors'
import { queryFieldErrors, toFieldErrors, type ValueErrorLike } from '../lib/field-errors'
import { pendingInputProblem, routeSchemas } from './input'
import { requestIdOf } from './request-id'
import { fromRoutes } from './route-table'

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

/** Status of a problem response, on its request's context: afterResponse does not see it otherwise. */
const PROBLEM_STATUS = Symbol('problemStatus')

/** The status of the problem response a request's context answered with, if any. */
export const problemStatusOf = (holder: object): number | undefined => (holder as { [PROBLEM_STATUS]?: number })[PROBLEM_STATUS]

/** `holder`: the request's Elysia context under another name (see requestIdOf). */
export function problemResponse(
  holder: object,
  status: number,
  code: string,
  title: string,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const { request } = holder as { request: Request }
  const requestId = requestIdOf(holder)
  ;(holder as { [PROBLEM_STATUS]?: number })[PROBLEM_STATUS] = status
  // A domain member can never overwrite an RFC 9457 member (nor code/requestId): those are dropped.
  const { type: _t, title: _ti, status: _s, detail: _d, instance: _i, code: _c, requestId: _r, ...members } = extra
  const body: Problem = {
    type: PROBLEM_TYPE_BASE + code.replaceAll('_', '-'),
    title,
    status,
    detail,
    instance: new URL(request.url).pathname,
    code,
    requestId,
    ...members,
  }
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/problem+json;charset=utf-8', 'x-request-id': requestId, ...headers },
  })
}

/** Elysia validation errors → one entry per field, all of them (query strings re-checked whole). */
function fieldErrors(error: ValidationError, request: Request, route: string | undefined): FieldError[] {
  // Query values are checked against coerced schemas and bounded while decoding (type "property",
  // no path): re-check the whole query string against the route's schema.
  const schemas = route ? routeSchemas(request.method, route) : undefined
  if ((error.type === 'query' || error.type === 'property') && schemas?.query) {
    const errors = queryFieldErrors(schemas.query, new URL(request.url).searchParams)
    if (errors.length > 0) return errors
  }
  // A value that failed while decoding, not in the query string: the body is all that is left.
  if (error.type === 'property') return [{ field: 'body', in: 'body', pointer: '', message: 'is invalid' }]
  return toFieldErrors(error.all as ValueErrorLike[], error.type)
}

// Route table used to tell 405 from 404: a path that exists under another method is a 405.
const matchers = fromRoutes((routes) =>
  routes.map((r) => ({
    method: r.method.toUpperCase(),
    re: new RegExp(
      `^${r.path
        .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
        .replace(/:[^/]+/g, '[^/]+')
        .replace(/\*/g, '.*')}/?$`,
    ),
  })),
)

function allowedMethods(pathname: string): string[] {
  return [
    ...new Set(
      matchers()
        .filter((m) => m.re.test(pathname))
        .map((m) => m.method),
    ),
  ]
}

export const errorsPlugin = new Elysia({ name: 'errors' }).error({ AppError }).onError({ as: 'global' }, (ctx) => {
  const { code, error: thrown, request, set, route } = ctx
  // Another name for the context: handing `ctx` itself to a function makes Elysia prepare every
  // part of every request (see plugins/input.ts).
  const holder: object = ctx
  // Drizzle wraps what the driver throws (e.g. DatabaseBusyError) in a DrizzleQueryError. A
  // timeout that reached here unmapped (a batch shared by many requests rethrows the driver's
  // own error) is still a 503 database_busy, never a 500.
  const cause = (thrown as { cause?: unknown }).cause
  const inner = cause instanceof AppError ? cause : busyError(cause ?? thrown, undefined)
  const error = inner instanceof AppError ? inner : thrown
  if (error instanceof AppError) {
    return problemResponse(holder, error.status, error.code, error.title, error.message, error.extra, error.headers)
  }
  switch (code) {
    case 'VALIDATION': {
      const v = error as ValidationError
      if (v.type === 'response') break
      // A problem found before validation (wrong content type, NUL bytes) is part of the answer.
      const pending = pendingInputProblem(holder)
      if (pending && !(pending instanceof ValidationProblem)) {
        return problemResponse(holder, pending.status, pending.code, pending.title, pending.message, pending.extra, pending.headers)
      }
      const early = pending ? (pending.extra.errors as FieldError[]) : []
      const found = fieldErrors(v, request, route)
      const errors = [...early, ...found.filter((f) => !early.some((e) => e.field === f.field))]
      return problemResponse(
        holder,
        422,
        'validation_failed',
        'Unprocessable Content',
        errors.map((e) => `${e.field}: ${e.message}`).join('; '),
        { errors },
      )
    }
    case 'PARSE':
      return problemResponse(holder, 400, 'malformed_body', 'Bad Request', 'The request body could not be parsed (malformed JSON?)')
    case 'NOT_FOUND': {
      const path = new URL(request.url).pathname
      const allow = allowedMethods(path).filter((m) => m !== request.method && m !== 'ALL' && m !== 'OPTIONS')
      if (allow.length > 0 && request.method !== 'HEAD') {
        return problemResponse(
          holder,
          405,
          'method_not_allowed',
          'Method Not Allowed',
          `${request.method} is not supported on ${path}`,
          { allowed: allow },
          { allow: allow.join(', ') },
        )
      }
      return problemResponse(holder, 404, 'route_not_found', 'Not Found', `No route for ${request.method} ${path}`)
    }
    case 'INVALID_COOKIE_SIGNATURE':
      return problemResponse(holder, 400, 'bad_cookie', 'Bad Request', 'Invalid cookie signature')
  }
  // Bun rejects oversized bodies itself; anything else unexpected is ours: log it, hide it.
  const status = typeof set.status === 'number' && set.status === 413 ? 413 : 500
  if (status === 413) return problemResponse(holder, 413, 'payload_too_large', 'Content Too Large', 'Request body too large')
  logger.error({ err: error, path: new URL(request.url).pathname }, 'unhandled error')
  return problemResponse(holder, 500, 'internal_error', 'Internal Server Error', 'An unexpected error occurred; it has been logged')
})
