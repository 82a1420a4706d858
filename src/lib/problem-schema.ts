// TypeBox shape of an RFC 9457 problem (what src/plugins/errors.ts emits), for route response docs.
import { t } from 'elysia'

export const Problem = t.Object(
  {
    type: t.String(),
    title: t.String(),
    status: t.Integer(),
    detail: t.String(),
    instance: t.String(),
    code: t.String({ description: 'stable machine-readable error code' }),
    requestId: t.String(),
    errors: t.Optional(t.Array(t.Object({ field: t.String(), message: t.String() }))),
  },
  { additionalProperties: true, description: 'application/problem+json' },
)

/** Response docs for the given error statuses, e.g. `...problems(400, 401, 404, 422)`. */
export function problems<S extends number>(...statuses: S[]): Record<S, typeof Problem> {
  return Object.fromEntries(statuses.map((s) => [s, Problem])) as Record<S, typeof Problem>
}
