// The RFC 9457 problem body every error response uses (see src/plugins/errors.ts), for OpenAPI
// response schemas: `response: { 200: X, ...problems(404, 422) }`.
import { t } from 'elysia'

export const Problem = t.Object(
  {
    type: t.String(),
    title: t.String(),
    status: t.Integer(),
    detail: t.String(),
    instance: t.String(),
    code: t.String(),
    requestId: t.String(),
    errors: t.Optional(t.Array(t.Object({ field: t.String(), message: t.String() }))),
  },
  { additionalProperties: true, description: 'application/problem+json' },
)

type ProblemStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 422 | 429 | 500 | 503

/** Response-schema entries for the given error statuses. */
export function problems<S extends ProblemStatus>(...statuses: S[]): Record<S, typeof Problem> {
  return Object.fromEntries(statuses.map((s) => [s, Problem])) as Record<S, typeof Problem>
}
