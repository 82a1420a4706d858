// The shared problem+json responses of the OpenAPI document: one per status every operation can
// answer (401, 400, 413, 415, 422, 429, 503), their schema (RFC 9457, as src/plugins/errors.ts
// writes it) and examples; openapi-document.ts refers to them from each operation.

type Schema = Record<string, unknown>

/** Shared problem responses: name in components.responses, description, example code and detail. */
export const PROBLEMS: Record<string, { name: string; description: string; code: string; title: string; detail: string }> = {
  '400': {
    name: 'BadRequest',
    description: 'Malformed body or a missing/invalid header',
    code: 'malformed_body',
    title: 'Bad Request',
    detail: 'The request body could not be parsed (malformed JSON?)',
  },
  '401': {
    name: 'Unauthorized',
    description: 'Missing, invalid or expired bearer token (WWW-Authenticate: Bearer)',
    code: 'unauthorized',
    title: 'Unauthorized',
    detail: 'Missing Authorization: Bearer token',
  },
  '403': {
    name: 'Forbidden',
    description: 'Signed in, but the role may not do this',
    code: 'forbidden',
    title: 'Forbidden',
    detail: 'Admin role required',
  },
  '404': {
    name: 'NotFound',
    description: 'The resource does not exist',
    code: 'not_found',
    title: 'Not Found',
    detail: 'Product not found',
  },
  '409': {
    name: 'Conflict',
    description: 'The request conflicts with the current state (`code` says which rule)',
    code: 'conflict',
    title: 'Conflict',
    detail: 'The request conflicts with the current state',
  },
  '410': {
    name: 'Gone',
    description: 'The resource is no longer available (a sale that has ended or was cancelled)',
    code: 'sale_ended',
    title: 'Gone',
    detail: 'The sale has ended',
  },
  '413': {
    name: 'ContentTooLarge',
    description: 'The body is over the size limit',
    code: 'payload_too_large',
    title: 'Content Too Large',
    detail: 'Request body too large',
  },
  '415': {
    name: 'UnsupportedMediaType',
    description: 'The body is not sent as the documented media type',
    code: 'unsupported_media_type',
    title: 'Unsupported Media Type',
    detail: 'Send the body as application/json',
  },
  '422': {
    name: 'UnprocessableContent',
    description: 'Validation failed: `errors` names every bad field',
    code: 'validation_failed',
    title: 'Unprocessable Content',
    detail: 'body.quantity: must be an integer from 1 to 100',
  },
  '425': {
    name: 'TooEarly',
    description: 'Not open yet (a sale before its start): retry after Retry-After seconds',
    code: 'sale_not_started',
    title: 'Too Early',
    detail: 'The sale opens at 2027-01-01T12:00:00.000Z',
  },
  '429': {
    name: 'TooManyRequests',
    description: 'Rate limit exceeded: retry after Retry-After seconds',
    code: 'rate_limited',
    title: 'Too Many Requests',
    detail: 'Rate limit exceeded; retry in 42s',
  },
  '500': {
    name: 'InternalServerError',
    description: 'Unexpected error (logged with the request id)',
    code: 'internal_error',
    title: 'Internal Server Error',
    detail: 'An unexpected error occurred; it has been logged',
  },
  '503': {
    name: 'ServiceUnavailable',
    description: 'A dependency (Postgres or Redis) is unavailable: nothing was done, retry after Retry-After',
    code: 'unavailable',
    title: 'Service Unavailable',
    detail: 'Try again shortly',
  },
}

export const PROBLEM_SCHEMA: Schema = {
  type: 'object',
  description: 'RFC 9457 application/problem+json',
  required: ['type', 'title', 'status', 'detail', 'instance', 'code', 'requestId'],
  properties: {
    type: { type: 'string', description: 'URI naming the problem type' },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string' },
    instance: { type: 'string', description: 'request path' },
    code: { type: 'string', description: 'stable machine-readable code' },
    requestId: { type: 'string' },
    errors: {
      type: 'array',
      description: 'present on 422: one entry per bad field',
      items: {
        type: 'object',
        required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
  additionalProperties: true,
}

export const RATE_HEADERS = {
  'Retry-After': { description: 'seconds until the window resets', schema: { type: 'integer', minimum: 1 } },
  RateLimit: { description: 'draft-ietf-httpapi-ratelimit-headers: `"<policy>";r=<remaining>;t=<reset s>`', schema: { type: 'string' } },
  'RateLimit-Policy': { description: '`"<policy>";q=<quota>;w=<window s>`', schema: { type: 'string' } },
}

export function problemComponents(): Record<string, unknown> {
  const responses: Record<string, unknown> = {}
  for (const [status, p] of Object.entries(PROBLEMS)) {
    const example = {
      type: `https://stampede.dev/problems/${p.code.replaceAll('_', '-')}`,
      title: p.title,
      status: Number(status),
      detail: p.detail,
      instance: '/api/v1/products/0190b9a4-7c1e-7000-8000-000000000001',
      code: p.code,
      requestId: '0190b9a4-7c1e-7000-8000-00000000abcd',
      ...(status === '422' ? { errors: [{ field: 'body.quantity', message: 'must be an integer from 1 to 100' }] } : {}),
    }
    responses[p.name] = {
      description: p.description,
      ...(status === '429' ? { headers: RATE_HEADERS } : {}),
      ...(status === '503' ? { headers: { 'Retry-After': RATE_HEADERS['Retry-After'] } } : {}),
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' }, example } },
    }
  }
  return responses
}
