// Domain errors: services throw these; the errors plugin maps them to RFC 9457 problem+json.
// `code` is the stable machine-readable name clients switch on.
/** `field`: dotted path (body fields bare, others prefixed `query.`/`params.`/`headers.`). */
export type FieldError = { field: string; message: string; in?: string; pointer?: string }

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    detail?: string,
    /** Extra members of the problem object (e.g. `errors`, `allowed`, `productIds`). */
    readonly extra: Record<string, unknown> = {},
    /** Extra response headers (e.g. Retry-After, WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title)
  }
}

export class BadRequestError extends AppError {
  constructor(detail: string, code = 'bad_request', extra: Record<string, unknown> = {}) {
    super(400, code, 'Bad Request', detail, extra)
  }
}

/** `query.limit` → in: query, pointer: /limit (a bare name's location is not known here). */
function located(e: FieldError): FieldError {
  const m = e.in ? null : /^(query|params|headers)\.(.+)$/.exec(e.field)
  return m?.[1] && m[2] ? { ...e, in: m[1], pointer: `/${m[2].split('.').join('/')}` } : e
}

export class ValidationProblem extends AppError {
  constructor(errors: FieldError[], detail?: string) {
    const all = errors.map(located)
    super(422, 'validation_failed', 'Unprocessable Content', detail ?? all.map((e) => `${e.field}: ${e.message}`).join('; '), {
      errors: all,
    })
  }
  static field(field: string, message: string): ValidationProblem {
    return new ValidationProblem([{ field, message }])
  }
}

export class UnauthorizedError extends AppError {
  constructor(detail = 'Authentication required', code = 'unauthorized') {
    super(401, code, 'Unauthorized', detail, {}, { 'WWW-Authenticate': 'Bearer' })
  }
}

export class ForbiddenError extends AppError {
  constructor(detail = 'You are not allowed to do this', code = 'forbidden') {
    super(403, code, 'Forbidden', detail)
  }
}

export class NotFoundError extends AppError {
  constructor(what = 'Resource', detail?: string) {
    super(404, 'not_found', 'Not Found', detail ?? `${what} not found`)
  }
}

export class ConflictError extends AppError {
  constructor(detail: string, code = 'conflict', extra: Record<string, unknown> = {}) {
    super(409, code, 'Conflict', detail, extra)
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number, headers: Record<string, string> = {}) {
    super(
      429,
      'rate_limited',
      'Too Many Requests',
      `Rate limit exceeded; retry in ${retryAfterSeconds}s`,
      {},
      {
        ...headers,
        'Retry-After': String(retryAfterSeconds),
      },
    )
  }
}

export class UnavailableError extends AppError {
  constructor(detail: string, code = 'dependency_unavailable') {
    super(503, code, 'Service Unavailable', detail, {}, { 'Retry-After': '5' })
  }
}
