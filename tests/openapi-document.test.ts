// The published OpenAPI document (GET /swagger/json) is a valid OpenAPI 3.1 contract that says
// what the server does: typed numbers, 3.1 nullability, every status an operation can answer,
// required flags as the server enforces them, and examples that match their own schemas.
// (Spectral's spectral:oas ruleset runs on the same document in CI: `bun run openapi:lint`.)
import { beforeAll, describe, expect, test } from 'bun:test'
import Ajv2020 from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import { app } from '../src/app'
import type { Document } from '../src/plugins/openapi-document'

type Op = {
  description?: string
  security?: unknown[]
  parameters?: { name: string; in: string; required?: boolean; schema?: Record<string, unknown> }[]
  requestBody?: { content: Record<string, { schema?: object; example?: unknown }> }
  responses: Record<string, { $ref?: string; content?: Record<string, { schema?: object; example?: unknown }> }>
}

let doc: Document
const ops: [string, Op][] = []

beforeAll(async () => {
  const res = await app.handle(new Request('http://localhost/swagger/json'))
  expect(res.status).toBe(200)
  doc = (await res.json()) as Document
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods)) ops.push([`${method.toUpperCase()} ${path}`, op as unknown as Op])
})

/** Every schema object anywhere in the document. */
function* schemas(v: unknown): Generator<Record<string, unknown>> {
  if (Array.isArray(v)) for (const x of v) yield* schemas(x)
  else if (v && typeof v === 'object') {
    yield v as Record<string, unknown>
    for (const x of Object.values(v)) yield* schemas(x)
  }
}

describe('OpenAPI document', () => {
  test('is OpenAPI 3.1 with contact and servers, and one path per route', () => {
    expect(doc.openapi).toMatch(/^3\.1\.[01]$/)
    expect(doc.info.contact).toBeDefined()
    expect(doc.servers?.length).toBeGreaterThan(0)
    expect(Object.keys(doc.paths).filter((p) => p.length > 1 && p.endsWith('/'))).toEqual([])
    expect(doc.paths['/api/v1/cart']?.get).toBeDefined()
  })

  test('numbers are typed numbers, never strings; no 3.0 `nullable`', () => {
    const bad: string[] = []
    for (const s of schemas(doc.paths)) {
      if ('nullable' in s && typeof s.nullable === 'boolean') bad.push(`nullable: ${JSON.stringify(s).slice(0, 80)}`)
      if (s.type === 'string' && ['integer', 'number', 'numeric'].includes(String(s.format)))
        bad.push(`string number: ${JSON.stringify(s).slice(0, 80)}`)
    }
    expect(bad).toEqual([])
    const products = doc.paths['/api/v1/products']?.get as unknown as Op
    const limit = products.parameters?.find((p) => p.name === 'limit')
    expect(limit?.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100, default: 20 })
  })

  test('required flags match the server: defaults are optional, Idempotency-Key is required', () => {
    const limits = ops.flatMap(([key, op]) => (op.parameters ?? []).filter((p) => p.name === 'limit').map((p) => [key, p.required]))
    expect(limits.length).toBeGreaterThan(5)
    expect(limits.filter(([, required]) => required)).toEqual([])
    for (const key of ['POST /api/v1/orders', 'POST /api/v1/orders/{id}/pay']) {
      const op = ops.find(([k]) => k === key)?.[1]
      expect(op?.parameters?.find((p) => p.name === 'Idempotency-Key')).toMatchObject({ in: 'header', required: true })
    }
  })

  test('every operation documents the statuses it can answer', () => {
    const missing: string[] = []
    for (const [key, op] of ops) {
      const has = (...statuses: string[]) => {
        for (const s of statuses) if (!(s in op.responses)) missing.push(`${key}: ${s}`)
      }
      if (key.includes(' /api/')) has('429', '503')
      if (op.security?.length) has('401')
      if (op.requestBody) has('400', '413', '415', '422')
      if (op.parameters?.some((p) => p.in !== 'header')) has('422')
      if (!Object.keys(op.responses).some((s) => s.startsWith('2') || s.startsWith('3'))) missing.push(`${key}: a success status`)
    }
    expect(missing).toEqual([])
    // Problems are problem+json with the shared schema.
    expect(doc.paths['/api/v1/orders']?.post?.responses?.['429']).toEqual({ $ref: '#/components/responses/TooManyRequests' })
    expect(doc.components?.responses?.TooManyRequests).toMatchObject({ headers: { 'Retry-After': {} } })
    // A status with its own body stays as the route declared it (readiness reports its checks).
    const ready = doc.paths['/ready']?.get as unknown as Op
    expect(Object.keys(ready.responses['503']?.content ?? {})).toEqual(['application/json'])
  })

  test('every operation has a description; every example matches its own schema', () => {
    const ajv = addFormats(new Ajv2020({ strict: false }))
    // Nested references (a recursive schema such as CategoryNode) resolve to the components.
    for (const [name, schema] of Object.entries(doc.components?.schemas ?? {}))
      ajv.addSchema(schema as object, `#/components/schemas/${name}`)
    const problems: string[] = []
    for (const [key, op] of ops) {
      if (!op.description?.trim()) problems.push(`${key}: no description`)
      const media = [
        ...Object.values(op.requestBody?.content ?? {}),
        ...Object.values(op.responses).flatMap((r) => Object.values(r.content ?? {})),
      ]
      for (const m of media) {
        if (!m.schema) continue
        if (m.example === undefined) problems.push(`${key}: no example`)
        else if (!ajv.validate(m.schema, m.example)) problems.push(`${key}: example does not match: ${ajv.errorsText()}`)
      }
    }
    expect(problems).toEqual([])
  })
})
