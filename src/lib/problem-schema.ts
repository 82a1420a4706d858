// OpenAPI side of RFC 9457 errors: the `Problem` schema and a helper so a route declares the
// problem responses it can answer with in one line: `response: { 200: X, ...problems(401, 422) }`.
import { t } from 'elysia'

export const FieldErrorSchema = t.Object({
  field: t.String({ description: 'dotted path: body fields bare (`items.0.quantity`), others prefixed (`query.limit`)' }),
  message: t.String({ description: 'what a valid value looks like' }),
  in: t.Optional(t.UnionEnum(['body', 'query', 'params', 'headers'])),
  pointer: t.Optional(t.String({ description: 'RFC 6901 JSON pointer within `in`' })),
})

export const Problem = t.Object(
  {
    type: t.String({ description: 'URI naming the problem type' }),
    title: t.String(),
    status: t.Integer(),
    detail: t.String(),
    instance: t.String({ description: 'request path' }),
    code: t.String({ description: 'stable machine-readable code' }),
    requestId: t.String(),
    errors: t.Optional(t.Array(FieldErrorSchema, { description: 'present on 422: one entry per bad field' })),
  },
  { additionalProperties: true, description: 'RFC 9457 application/problem+json' },
)

const DESCRIPTIONS: Record<number, string> = {
  400: 'Bad Request (malformed body)',
  401: 'Unauthorized: missing, invalid or expired token (WWW-Authenticate: Bearer)',
  403: 'Forbidden: role not allowed',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone (a sale that has ended)',
  425: 'Too Early (a sale not open yet: Retry-After)',
  422: 'Unprocessable Content: validation failed (`errors` names the fields)',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type: the body must be application/json',
  429: 'Too Many Requests (Retry-After, RateLimit headers)',
  500: 'Internal Server Error (logged with the request id)',
  503: 'Service Unavailable',
}

export type ProblemStatus = 400 | 401 | 403 | 404 | 405 | 409 | 410 | 413 | 415 | 422 | 425 | 429 | 500 | 503

/** `{ 401: Problem, 422: Problem, ... }` for a route's `response`, each described for OpenAPI. */
export function problems<S extends ProblemStatus>(...statuses: S[]): Record<S, typeof Problem> {
  const out = {} as Record<S, typeof Problem>
  for (const s of statuses) out[s] = t.Object(Problem.properties, { additionalProperties: true, description: DESCRIPTIONS[s] })
  return out
}
