// OpenAPI-driven fuzzing: requests generated from the published document (json-schema-faker for
// valid values, fast-check for the plan of each request and its mutation, both seeded), sent as
// anonymous, customer and admin; every answer is checked against the document with Ajv (JSON
// Schema 2020-12, as OpenAPI 3.1 uses). A failure is a 5xx, a status the operation does not
// document, or a body that does not match the documented schema of its status and media type.
// Used by tests/contract-fuzz.test.ts (in-process, a few hundred) and bench/fuzz.ts (thousands).
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import fc from 'fast-check'
import { generateSync, type JsonSchema } from 'json-schema-faker'
import type { Document } from '../../src/plugins/openapi-document'

export type Role = 'anonymous' | 'customer' | 'admin'
export type Outgoing = { method: string; url: string; headers: Record<string, string>; body?: string }
export type Incoming = { status: number; contentType: string; text: string }
export type Send = (req: Outgoing) => Promise<Incoming>
export type IdKind = 'product' | 'order' | 'user' | 'category'
/** Tokens of the signed-in roles and ids that exist (path/body UUIDs are drawn from them mostly). */
export type Fixtures = { tokens: { customer: string; admin: string }; ids: Record<IdKind, string[]> }

export type Failure = { operation: string; role: Role; mutation: string; request: Outgoing; status: number; problem: string; body: string }
export type FuzzReport = {
  requests: number
  unsendable: number
  failures: Failure[]
  byStatus: Record<string, number>
  byOperation: Record<string, Record<string, number>>
}

type Schema = Record<string, unknown>
type Param = { name: string; in: string; required?: boolean; schema?: Schema }
type Op = {
  key: string
  method: string
  path: string
  params: Param[]
  body?: { media: string; schema: Schema }
  responses: Record<string, { content?: Record<string, { schema?: Schema }> }>
  /** Has a security requirement (401 without a token); documents 403 (admins only). */
  secured?: boolean
}

export const MUTATIONS = [
  'nul-string',
  'big-number',
  'wrong-type',
  'drop-required',
  'unknown-field',
  'unknown-query',
  'malformed-json',
  'text-plain',
  'bad-cursor',
  'odd-id',
  'no-idempotency-key',
] as const
type Mutation = (typeof MUTATIONS)[number] | 'none'

// Past int4 (Postgres integer), past 2^53, far out, and the edges.
const BIG = [2147483648, 2147483648, -2147483649, Number.MAX_SAFE_INTEGER + 2, 1e300, -1, 0, 1.5]
// Cursor keys that decode but may not fit the column they are compared with.
const ODD_KEYS = [999999999999, 1e300, -1, '2026-13-45 25:61:61', '+275760-09-13T00:00:00Z', '-271821-04-20', '', 'zz', null, true]
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** The plan of one request: everything random about it, drawn by fast-check from one seed. */
const planArb = fc.record({
  // Admins get past authentication everywhere, so most calls are theirs; the others check 401/403.
  role: fc.constantFrom<Role>('admin', 'admin', 'customer', 'anonymous'),
  pick: fc.noBias(fc.nat()),
  seed: fc.noBias(fc.nat({ max: 1e9 })),
  value: fc.jsonValue({ maxDepth: 2 }),
  text: fc.string({ unit: 'binary', maxLength: 12 }),
  big: fc.constantFrom(...BIG),
  cursorKey: fc.array(fc.oneof(fc.constantFrom(...ODD_KEYS), fc.jsonValue({ maxDepth: 1 })), { minLength: 1, maxLength: 3 }),
})
type Plan = (typeof planArb extends fc.Arbitrary<infer T> ? T : never) & { mutation: Mutation }

/** Request i's mutation: every operation gets every mutation (and two plain calls) in turn. */
const ROUND: Mutation[] = ['none', ...MUTATIONS, 'none']

function operationsOf(doc: Document): Op[] {
  const ops: Op[] = []
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(methods)) {
      const op = raw as unknown as {
        security?: unknown[]
        parameters?: Param[]
        requestBody?: { content: Record<string, { schema: Schema }> }
        responses?: Record<string, { $ref?: string }>
      }
      const responses: Op['responses'] = {}
      for (const [status, res] of Object.entries(op.responses ?? {})) {
        const name = res.$ref?.split('/').pop()
        responses[status] = (name ? doc.components?.responses?.[name] : res) as Op['responses'][string]
      }
      const media = op.requestBody && Object.keys(op.requestBody.content)[0]
      ops.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        params: op.parameters ?? [],
        body: media && op.requestBody ? { media, schema: op.requestBody.content[media]?.schema ?? {} } : undefined,
        responses,
        secured: Boolean(op.security?.length),
      })
    }
  }
  return ops
}

function fake(schema: Schema | undefined, seed: number): unknown {
  if (!schema) return undefined
  try {
    // Half the time the documented examples (a valid password, an email): random strings rarely pass
    // the server's own rules, and the rest of the values stay random.
    return generateSync(schema as JsonSchema, {
      seed,
      optionalsProbability: 0.5,
      maxDefaultItems: 2,
      maxItems: 3,
      useExamplesValue: seed % 2 === 0,
    })
  } catch {
    return undefined
  }
}

/** Which kind of row a UUID field names: by its own name, else by the path it is in. */
function kindOf(field: string, path: string): IdKind {
  const f = field.toLowerCase()
  for (const kind of ['product', 'order', 'user', 'category'] as const) if (f.startsWith(kind)) return kind
  if (/\/(admin\/)?orders/.test(path)) return 'order'
  if (path.includes('/users')) return 'user'
  if (path.includes('/categories')) return 'category'
  return 'product'
}

/** Existing ids in place of most generated UUIDs, so requests reach real rows, not only 404s. */
function withKnownIds(value: unknown, fx: Fixtures, path: string, n: { i: number }, field = ''): unknown {
  if (typeof value === 'string' && UUID_RE.test(value) && n.i++ % 5 !== 4) {
    const ids = fx.ids[kindOf(field, path)]
    return ids.length ? ids[(n.i * 7) % ids.length] : value
  }
  if (Array.isArray(value)) return value.map((v) => withKnownIds(v, fx, path, n, field))
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withKnownIds(v, fx, path, n, k)]))
  return value
}

/** Paths to leaves of a JSON value whose schema type is `kind` (string/number...), for mutations. */
function leaves(value: unknown, test: (v: unknown) => boolean, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = []
  if (test(value) && at.length) out.push(at)
  if (Array.isArray(value)) for (const [i, v] of value.entries()) out.push(...leaves(v, test, [...at, i]))
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) out.push(...leaves(v, test, [...at, k]))
  return out
}

function setAt(root: unknown, path: (string | number)[], v: unknown): void {
  let node = root as Record<string | number, unknown>
  for (const p of path.slice(0, -1)) node = node[p] as Record<string | number, unknown>
  node[path[path.length - 1] as string | number] = v
}

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

/** Builds one request of `op` from its plan. */
function build(op: Op, plan: Plan, fx: Fixtures): Outgoing {
  const ids = { i: plan.seed }
  const path: Record<string, string> = {}
  const query: Record<string, unknown> = {}
  const headers: Record<string, string> = {}
  for (const [i, p] of op.params.entries()) {
    const seed = plan.seed + i
    if (p.in === 'path') path[p.name] = String(withKnownIds(fake(p.schema, seed), fx, op.path, ids, p.name))
    else if (p.in === 'query' && (p.required || (plan.seed + i) % 2 === 0)) {
      const v = fake(p.schema, seed)
      if (v !== undefined) query[p.name] = withKnownIds(v, fx, op.path, ids, p.name)
    } else if (p.in === 'header') headers[p.name.toLowerCase()] = `fz-${plan.seed}-${plan.pick}`
  }
  const body: unknown = op.body ? withKnownIds(fake(op.body.schema, plan.seed), fx, op.path, ids) : undefined
  let raw: string | undefined
  let contentType = op.body?.media
  const m = plan.mutation
  const pick = <T>(xs: T[]): T | undefined => (xs.length ? xs[plan.pick % xs.length] : undefined)
  const isStr = (v: unknown) => typeof v === 'string'
  const isNum = (v: unknown) => typeof v === 'number'
  if (m === 'nul-string' || m === 'big-number' || m === 'wrong-type') {
    const value = m === 'nul-string' ? `a\u0000${plan.text}` : m === 'big-number' ? plan.big : plan.value
    const fits = (p: Param) =>
      m === 'wrong-type' || (m === 'nul-string' ? p.schema?.type === 'string' : p.schema?.type === 'integer' || p.schema?.type === 'number')
    // Every place the mutation fits: body leaves of the right kind, query and path parameters.
    const slots: (() => void)[] = []
    for (const spot of leaves(body, m === 'big-number' ? isNum : m === 'nul-string' ? isStr : () => true))
      slots.push(() => setAt(body, spot, value))
    const text = typeof value === 'object' ? JSON.stringify(value) : String(value)
    for (const p of op.params.filter((p) => p.in === 'query' && fits(p))) slots.push(() => (query[p.name] = text))
    // Path ids only when nothing else fits: a malformed id is one easy 422, the rest reach SQL.
    if (!slots.length) for (const p of op.params.filter((p) => p.in === 'path')) slots.push(() => (path[p.name] = text))
    const slot = pick(slots)
    if (slot) slot()
    else if (body && typeof body === 'object' && !Array.isArray(body)) (body as Record<string, unknown>).x = value
  } else if (m === 'drop-required' && body && typeof body === 'object' && !Array.isArray(body)) {
    const key = pick(Object.keys(body))
    if (key) delete (body as Record<string, unknown>)[key]
  } else if (m === 'unknown-field' && body && typeof body === 'object' && !Array.isArray(body)) {
    ;(body as Record<string, unknown>).unknownField = plan.value
  } else if (m === 'unknown-query') {
    query.minPrice = 5
  } else if (m === 'malformed-json' && op.body) {
    raw = `{"a": ${JSON.stringify(plan.text)}`
  } else if (m === 'text-plain' && op.body) {
    contentType = 'text/plain'
  } else if (m === 'bad-cursor') {
    // Mostly the shape real cursors have (sort keys then the last id), with odd keys.
    const id = pick(fx.ids[kindOf('', op.path)]) ?? '00000000-0000-0000-0000-000000000000'
    query.cursor = plan.pick % 4 ? b64url([...plan.cursorKey, id]) : b64url(plan.value)
  } else if (m === 'odd-id') {
    const p = pick(Object.keys(path))
    const id = (p && pick(fx.ids[kindOf(p, op.path)])) ?? '00000000-0000-0000-0000-000000000000'
    if (p) path[p] = [id.toUpperCase(), 'not-a-uuid', `${id}x`, '0', '%00'][plan.seed % 5] as string
  } else if (m === 'no-idempotency-key') {
    delete headers['idempotency-key']
  }
  if (plan.role !== 'anonymous') headers.authorization = `Bearer ${fx.tokens[plan.role]}`
  if (op.body && body !== undefined && raw === undefined) raw = op.body.media === 'application/json' ? JSON.stringify(body) : String(body)
  if (raw !== undefined && contentType) headers['content-type'] = contentType
  let url = op.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    // An empty segment would route to another operation (/products/ is the list).
    const v = path[name] || '""'
    return v === '%00' ? v : encodeURIComponent(v)
  })
  const qs = Object.entries(query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(typeof v === 'object' ? JSON.stringify(v) : String(v))}`)
    .join('&')
  if (qs) url += `?${qs}`
  return { method: op.method, url, headers, body: raw }
}

export class ContractChecker {
  private readonly ajv = addFormats(new Ajv2020({ strict: false, allErrors: false, validateFormats: true }))
  private readonly compiled = new Map<Schema, ValidateFunction>()
  constructor(private readonly doc: Document) {
    // Nested references (a recursive schema such as CategoryNode) resolve to the components.
    for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
      this.ajv.addSchema(schema as Schema, `#/components/schemas/${name}`)
    }
  }

  /** Why this response breaks the contract of `op`, or null when it keeps it. */
  check(op: Op, res: Incoming, role: Role = 'admin'): string | null {
    // The readiness probe's 503 is its answer (a check timed out on a loaded box), not a failure.
    if (res.status >= 500 && !(res.status === 503 && op.path === '/ready')) return `server error ${res.status}`
    const documented = op.responses[String(res.status)] ?? op.responses.default
    if (!documented) return `status ${res.status} is not documented (documented: ${Object.keys(op.responses).join(', ')})`
    // The security requirement comes first: who may not call an operation learns nothing more.
    // One exception: Elysia parses the body before any route hook runs, so a body that is not JSON
    // at all is refused (400 malformed_body) before authentication; that answer names no field and
    // says nothing about the schema.
    const unparsed = res.status === 400 && res.text.includes('"malformed_body"')
    if (op.secured && role === 'anonymous' && res.status !== 401 && res.status !== 429 && !unparsed)
      return `anonymous caller got ${res.status}, not 401`
    if (op.secured && role === 'customer' && op.responses['403'] && ![403, 429].includes(res.status) && !unparsed)
      return `customer on an admin operation got ${res.status}, not 403`
    const content = documented.content
    if (!content || !res.text)
      return content && Object.keys(content).some((t) => t.includes('json')) ? 'documented a JSON body, got none' : null
    const media = res.contentType.split(';')[0]?.trim() ?? ''
    const entry = content[media]
    if (!entry)
      return `content-type ${media || '(none)'} is not documented for ${res.status} (documented: ${Object.keys(content).join(', ')})`
    if (!media.includes('json') || !entry.schema) return null
    let parsed: unknown
    try {
      parsed = JSON.parse(res.text)
    } catch {
      return `body is not JSON: ${res.text.slice(0, 80)}`
    }
    const ref = typeof entry.schema.$ref === 'string' ? entry.schema.$ref.split('/').pop() : undefined
    const validate = this.validator(ref ? (this.doc.components?.schemas?.[ref] as Schema) : entry.schema)
    if (validate(parsed)) return null
    return `body does not match the ${res.status} schema: ${this.ajv.errorsText(validate.errors, { dataVar: 'body' })}`
  }

  private validator(schema: Schema): ValidateFunction {
    let v = this.compiled.get(schema)
    if (!v) {
      v = this.ajv.compile(schema)
      this.compiled.set(schema, v)
    }
    return v
  }
}

/** Runs `count` requests planned from `seed`; `concurrency` requests in flight at once. */
export async function fuzz(
  doc: Document,
  send: Send,
  fx: Fixtures,
  opts: { seed: number; count: number; concurrency?: number },
): Promise<FuzzReport> {
  const ops = operationsOf(doc).filter((o) => !o.path.startsWith('/admin/queues'))
  const checker = new ContractChecker(doc)
  const plans: Plan[] = fc
    .sample(planArb, { seed: opts.seed, numRuns: opts.count })
    .map((p, i) => ({ ...p, mutation: ROUND[Math.floor(i / ops.length) % ROUND.length] as Mutation }))
  const report: FuzzReport = { requests: 0, unsendable: 0, failures: [], byStatus: {}, byOperation: {} }
  let next = 0
  const worker = async () => {
    for (;;) {
      const i = next++
      const plan = plans[i]
      if (!plan) return
      const op = ops[i % ops.length] as Op
      const request = build(op, plan, fx)
      let res: Incoming
      try {
        res = await send(request)
      } catch {
        report.unsendable++ // e.g. a header value the HTTP client itself refuses to send
        continue
      }
      report.requests++
      report.byStatus[res.status] = (report.byStatus[res.status] ?? 0) + 1
      report.byOperation[op.key] ??= {}
      const perOp = report.byOperation[op.key] as Record<string, number>
      perOp[res.status] = (perOp[res.status] ?? 0) + 1
      const problem = checker.check(op, res, plan.role)
      if (problem)
        report.failures.push({
          operation: op.key,
          role: plan.role,
          mutation: plan.mutation,
          request,
          status: res.status,
          problem,
          body: res.text.slice(0, 300),
        })
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency ?? 4 }, worker))
  return report
}

/** One line per failure: operation, caller, mutation, request, status and what is wrong. */
export function describeFailure(f: Failure): string {
  const body = f.request.body === undefined ? '' : ` body=${JSON.stringify(f.request.body.slice(0, 200))}`
  return `${f.operation} as ${f.role} [${f.mutation}] → ${f.status}: ${f.problem}\n    ${f.request.method} ${f.request.url}${body}\n    answer: ${f.body.slice(0, 200)}`
}
