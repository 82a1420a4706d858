// Turns the document @elysiajs/openapi generates from the routes into the published OpenAPI 3.1
// contract, in one place instead of on every route:
// - schemas: Elysia's coercible numerics (`anyOf: [{type: string, format: integer}, {type: integer}]`)
//   become the number they accept, 3.0's `nullable` becomes `type: [X, "null"]`;
// - statuses every operation can answer are derived from what it is: secured → 401, a body →
//   400/413/415/422, parameters → 422, Idempotency-Key → 400/409/422 (and the header is required),
//   rate-limited path → 429, API route → 503 (a dependency down), each as a shared problem+json
//   response; a route still declares its own domain statuses (403, 404, 409) with `problems()`;
// - a query parameter with a default is optional (the server fills it in);
// - every operation gets a description and request/response examples (json-schema-faker, seeded,
//   so the document is the same on every start).
import { generateSync, type JsonSchema } from 'json-schema-faker'
import { PROBLEM_SCHEMA, PROBLEMS, problemComponents } from './openapi-problems'
import { type RatePolicy, ratePolicyFor } from './rate-limit'

type Schema = Record<string, unknown>
type Media = { schema?: Schema; example?: unknown }
type Response = { $ref?: string; description?: string; content?: Record<string, Media>; headers?: Record<string, unknown> }
type Parameter = { name: string; in: string; required?: boolean; description?: string; schema?: Schema }
type Operation = {
  summary?: string
  description?: string
  security?: unknown[]
  parameters?: Parameter[]
  requestBody?: { description?: string; required?: boolean; content: Record<string, Media> }
  responses?: Record<string, Response>
  [extra: string]: unknown
}
export type Document = {
  openapi: string
  info: Record<string, unknown>
  servers?: unknown[]
  paths: Record<string, Record<string, Operation>>
  components?: Record<string, Record<string, unknown>>
  [extra: string]: unknown
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'])
const IDEMPOTENCY_HEADER = 'idempotency-key'

/** JSON-schema normalisation for OpenAPI 3.1 (see the header comment); returns a new schema. */
export function normalizeSchema(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeSchema)
  if (!value || typeof value !== 'object') return value
  let s: Schema = { ...(value as Schema) }
  const anyOf = s.anyOf as Schema[] | undefined
  if (Array.isArray(anyOf) && anyOf.length === 2) {
    // Elysia accepts numbers and booleans as strings in query/params/body (t.Numeric, t.BooleanString):
    // the contract is the typed value.
    const typed = anyOf.find((b) => b.type === 'integer' || b.type === 'number' || b.type === 'boolean')
    const coerced = anyOf.find((b) => b.type === 'string' && ['integer', 'number', 'numeric', 'boolean'].includes(String(b.format)))
    if (typed && coerced) {
      const { anyOf: _, ...rest } = s
      s = { ...rest, ...typed }
    }
  }
  if ('nullable' in s) {
    const nullable = s.nullable === true
    delete s.nullable
    if (nullable) {
      if (typeof s.type === 'string') s.type = [s.type, 'null']
      else if (Array.isArray(s.type) && !s.type.includes('null')) s.type = [...s.type, 'null']
      else if (!s.type && Array.isArray(s.anyOf) && !(s.anyOf as Schema[]).some((b) => b.type === 'null'))
        s.anyOf = [...(s.anyOf as Schema[]), { type: 'null' }]
    }
  }
  for (const key of ['properties', 'patternProperties', '$defs']) {
    const map = s[key] as Record<string, unknown> | undefined
    if (map && typeof map === 'object') s[key] = Object.fromEntries(Object.entries(map).map(([k, v]) => [k, normalizeSchema(v)]))
  }
  for (const key of ['items', 'additionalProperties', 'not', 'anyOf', 'oneOf', 'allOf', 'prefixItems', 'contains']) {
    if (s[key] && typeof s[key] === 'object') s[key] = normalizeSchema(s[key])
  }
  return s
}

/** Deterministic example of a schema (valid against it), or undefined when none can be made. */
export function exampleOf(schema: Schema | undefined, seed: number): unknown {
  if (!schema) return undefined
  try {
    return generateSync(schema as JsonSchema, {
      seed,
      alwaysFakeOptionals: true,
      useExamplesValue: true,
      useDefaultValue: true,
      maxDefaultItems: 1,
      maxItems: 2,
      minDateTime: '2026-01-01',
      maxDateTime: '2026-12-31',
    })
  } catch {
    return undefined
  }
}

const RATE_TEXT: Record<RatePolicy, string> = {
  auth: 'Rate limited per client IP (`auth` policy, RATE_LIMIT_AUTH); also per email (register, password reset), per user (password change) or, for failed logins, per IP and email.',
  'auth-email': 'Rate limited per email (RATE_LIMIT_AUTH).',
  'login-failures': 'Failed logins are limited per client IP and email (RATE_LIMIT_AUTH); a success resets the count.',
  write: 'Rate limited per user, or per IP when anonymous (`write` policy, RATE_LIMIT_WRITE).',
  read: 'Rate limited per user, or per IP when anonymous (`read` policy, RATE_LIMIT_READ).',
}

/** The statuses an operation can answer besides the ones its route declares. */
function derivedStatuses(path: string, op: Operation, rate: RatePolicy | null): string[] {
  const out: string[] = []
  const params = op.parameters ?? []
  if (op.security?.length) out.push('401')
  if (op.requestBody) out.push('400', '413', '415', '422')
  if (params.some((p) => p.in !== 'header')) out.push('422')
  if (params.some((p) => p.name.toLowerCase() === IDEMPOTENCY_HEADER)) out.push('400', '409', '422')
  if (rate) out.push('429')
  // Every API route reads Postgres or Redis; unknown query parameters are refused with 422.
  if (path.startsWith('/api/')) out.push('422', '503')
  return out
}

function describe(op: Operation, rate: RatePolicy | null): string {
  const facts: string[] = []
  if (op.security?.length) {
    facts.push(op.responses?.['403'] ? 'Requires a bearer token of an admin.' : 'Requires a bearer token (any signed-in user).')
  } else facts.push('No authentication.')
  if (op.parameters?.some((p) => p.name.toLowerCase() === IDEMPOTENCY_HEADER)) {
    facts.push('Requires an Idempotency-Key header: a retry with the same key and body gets the first response back.')
  }
  if (rate) facts.push(RATE_TEXT[rate])
  const lead = op.description ?? (op.summary ? `${op.summary}.` : '')
  return `${lead}\n\n${facts.join(' ')}`.trim()
}

function fixParameters(op: Operation): void {
  for (const p of op.parameters ?? []) {
    if (p.schema) p.schema = normalizeSchema(p.schema) as Schema
    // The server fills in a default, so the client may leave the parameter out.
    if (p.in === 'query' && p.schema && 'default' in p.schema) p.required = false
    if (p.name.toLowerCase() === IDEMPOTENCY_HEADER) {
      p.name = 'Idempotency-Key'
      p.required = true
      p.description = String(p.schema?.description ?? '').replace(/^REQUIRED\.\s*/, '') || undefined
      if (p.schema) p.schema = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' }
    }
  }
}

function fixRequestBody(op: Operation, seed: number): void {
  const body = op.requestBody
  if (!body) return
  // The API reads JSON only (a text/plain route, the webhook, keeps its own media type).
  const media = body.content['application/json'] ? 'application/json' : Object.keys(body.content)[0]
  if (!media) return
  const schema = normalizeSchema(body.content[media]?.schema) as Schema
  body.content = { [media]: { schema, example: exampleOf(schema, seed) } }
}

function fixResponses(op: Operation, derived: string[], seed: number): void {
  const responses = op.responses ?? {}
  const out: Record<string, Response> = {}
  const statuses = [...new Set([...Object.keys(responses), ...derived])].sort()
  for (const status of statuses) {
    const res = responses[status]
    const problem = PROBLEMS[status]
    if (Number(status) >= 400 && problem && (!res || isProblem(res))) {
      out[status] = { $ref: `#/components/responses/${problem.name}` }
      continue
    }
    if (!res) continue
    const content = res.content
    // Elysia renders t.Void() as `content: { type: 'void' }`: a bodiless response has no content.
    if (!content || 'type' in content) {
      out[status] = { description: res.description ?? `Status ${status}`, ...(res.headers ? { headers: res.headers } : {}) }
      continue
    }
    const fixed: Record<string, Media> = {}
    for (const [type, media] of Object.entries(content)) {
      const schema = normalizeSchema(media.schema) as Schema
      fixed[type] = { schema, example: exampleOf(schema, seed + Number(status)) }
    }
    out[status] = { ...res, content: fixed }
  }
  op.responses = out
}

/** A response the route declared with `problems()` (its own schema otherwise: /ready's 503). */
function isProblem(res: Response): boolean {
  const media = Object.values(res.content ?? {})[0]
  const props = (media?.schema?.properties ?? {}) as Record<string, unknown>
  return !res.content || ('type' in res.content && !media?.schema) || ['type', 'title', 'status', 'code'].every((k) => k in props)
}

/**
 * A recursive TypeBox schema (`t.Recursive(..., { $id: 'Name' })`) is generated inline with
 * `$id: 'Name'` and self-references `$ref: 'Name'`, which OpenAPI tools read as a file. Each such
 * schema becomes components.schemas.Name, its uses and self-references `#/components/schemas/Name`.
 */
function hoistRecursiveSchemas(node: unknown, schemas: Record<string, unknown>, ids = new Set<string>()): unknown {
  if (Array.isArray(node)) return node.map((x) => hoistRecursiveSchemas(x, schemas, ids))
  if (!node || typeof node !== 'object') return node
  const o = node as Record<string, unknown>
  if (typeof o.$ref === 'string' && ids.has(o.$ref)) return { $ref: `#/components/schemas/${o.$ref}` }
  if (typeof o.$id === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(o.$id)) {
    const { $id, ...rest } = o
    const inner = new Set(ids).add($id)
    schemas[$id] ??= hoistRecursiveSchemas(rest, schemas, inner)
    return { $ref: `#/components/schemas/${$id}` }
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, hoistRecursiveSchemas(v, schemas, ids)]))
}

/** The published document, built from the generated one (which is left untouched). */
export function finishDocument(generated: Document): Document {
  const doc = structuredClone(generated)
  const paths: Document['paths'] = {}
  let seed = 1
  for (const [rawPath, ops] of Object.entries(doc.paths)) {
    // `.get('/')` under a prefix is generated as `/cart/`; the server answers both, one is documented.
    const path = rawPath.length > 1 ? rawPath.replace(/\/$/, '') : rawPath
    paths[path] ??= {}
    for (const [method, op] of Object.entries(ops)) {
      if (!METHODS.has(method)) continue
      const rate = ratePolicyFor(method.toUpperCase(), path.replace(/\{[^}]+\}/g, 'x'))
      seed += 100
      fixParameters(op)
      fixRequestBody(op, seed)
      fixResponses(op, derivedStatuses(path, op, rate), seed)
      op.description = describe(op, rate)
      ;(paths[path] as Record<string, Operation>)[method] = op
    }
  }
  const hoisted: Record<string, unknown> = {}
  doc.paths = hoistRecursiveSchemas(paths, hoisted) as Document['paths']
  doc.components = {
    ...doc.components,
    schemas: { ...doc.components?.schemas, ...hoisted, Problem: PROBLEM_SCHEMA },
    responses: { ...doc.components?.responses, ...problemComponents() },
  }
  return doc
}
