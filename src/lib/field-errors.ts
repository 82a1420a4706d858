// Validation failures as field errors a person can act on: where the field is (body, query,
// params, headers), its JSON pointer, and a sentence ("must be an integer from 1 to 100") instead
// of TypeBox's wording ("Expected union value").
import { Value } from '@sinclair/typebox/value'
import type { FieldError } from './errors'

export type SchemaLike = {
  type?: string | string[]
  format?: string
  pattern?: string
  minimum?: number
  maximum?: number
  minLength?: number
  maxLength?: number
  minItems?: number
  maxItems?: number
  enum?: unknown[]
  const?: unknown
  default?: unknown
  anyOf?: SchemaLike[]
  properties?: Record<string, SchemaLike>
  required?: string[]
}

/** A TypeBox value error, as Elysia's ValidationError#all lists them. */
export type ValueErrorLike = { type?: number; path?: string; message?: string; summary?: string; schema?: SchemaLike }

// TypeBox ValueErrorType numbers (@sinclair/typebox/errors), named here for the switch below.
const E = {
  ArrayMaxItems: 2,
  ArrayMinItems: 4,
  Array: 6,
  Boolean: 14,
  Literal: 32,
  Null: 35,
  ObjectAdditionalProperties: 42,
  ObjectMinProperties: 44,
  ObjectRequiredProperty: 45,
  Object: 46,
  StringFormat: 50,
  StringMaxLength: 51,
  StringMinLength: 52,
  StringPattern: 53,
  String: 54,
  Union: 62,
} as const

const FORMATS: Record<string, string> = {
  uuid: 'a UUID',
  'date-time': 'an RFC 3339 date-time',
  email: 'an email address',
  integer: 'an integer',
  numeric: 'a number',
  boolean: 'true or false',
}

/** Describes a numeric schema ("an integer from 1 to 100"); null when the schema is not numeric. */
export function describeNumber(schema: SchemaLike | undefined): string | null {
  const branch = schema?.anyOf?.find((b) => b.type === 'integer' || b.type === 'number') ?? schema
  if (!branch || (branch.type !== 'integer' && branch.type !== 'number')) return null
  const kind = branch.type === 'integer' ? 'an integer' : 'a number'
  const { minimum: lo, maximum: hi } = branch
  if (lo !== undefined && hi !== undefined) return `must be ${kind} from ${lo} to ${hi}`
  if (lo !== undefined) return `must be ${kind} ≥ ${lo}`
  if (hi !== undefined) return `must be ${kind} ≤ ${hi}`
  return `must be ${kind}`
}

const list = (values: unknown[]) => [...new Set(values.map(String))].join(', ')

/** One sentence for one TypeBox error. */
export function messageOf(e: ValueErrorLike, where: string): string {
  const s = e.schema ?? {}
  const numeric = describeNumber(s)
  if (numeric && e.type !== E.ObjectRequiredProperty) return numeric
  switch (e.type) {
    case E.ObjectAdditionalProperties:
      return where === 'body' ? 'is not a known field' : 'is not a known parameter'
    case E.ObjectRequiredProperty:
      return 'is required'
    case E.ObjectMinProperties:
      return 'must name at least one field'
    case E.Object:
      return 'must be a JSON object'
    case E.String:
      return 'must be a string'
    case E.StringMinLength:
      return s.minLength === 1 ? 'must not be empty' : `must be at least ${s.minLength} characters long`
    case E.StringMaxLength:
      return `must be at most ${s.maxLength} characters long`
    case E.StringPattern:
      return s.pattern === '\\S' ? 'must not be blank' : `must match the pattern ${s.pattern}`
    case E.StringFormat:
      return `must be ${FORMATS[s.format ?? ''] ?? `in ${s.format} format`}`
    case E.Boolean:
      return 'must be true or false'
    case E.Array:
      return 'must be an array'
    case E.ArrayMinItems:
      return `must have at least ${s.minItems} item${s.minItems === 1 ? '' : 's'}`
    case E.ArrayMaxItems:
      return `must have at most ${s.maxItems} items`
    case E.Literal:
      return `must be ${JSON.stringify(s.const)}`
    case E.Null:
      return 'must be null'
  }
  if (s.enum) return `must be one of: ${list(s.enum)}`
  const consts = s.anyOf?.filter((b) => 'const' in b).map((b) => b.const)
  if (consts?.length) return `must be one of: ${list(consts)}`
  const types = s.anyOf?.map((b) =>
    b.format ? (FORMATS[b.format] ?? b.format) : b.type === 'boolean' ? 'true or false' : b.type === 'null' ? 'null' : `a ${b.type}`,
  )
  if (e.type === E.Union && types?.length) return `must be ${[...new Set(types)].join(' or ')}`
  return e.message ?? 'is invalid'
}

/** JSON pointer → path segments (RFC 6901 unescaping). */
const segments = (pointer: string) =>
  pointer
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))

/** A field error: body fields are named by their dotted path, the others prefixed with where they were. */
export function fieldError(where: string, path: string[], message: string): FieldError {
  const dotted = path.join('.')
  const field = where === 'body' ? dotted || 'body' : dotted ? `${where}.${dotted}` : where
  const pointer = path.map((p) => `/${p.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('')
  return { field, in: where, pointer, message }
}

/** TypeBox errors → one field error per field (the first error of a field is the telling one). */
export function toFieldErrors(errors: Iterable<ValueErrorLike>, where: string): FieldError[] {
  const out = new Map<string, FieldError>()
  for (const e of errors) {
    const f = fieldError(where, segments(e.path ?? ''), messageOf(e, where))
    if (!out.has(f.field)) out.set(f.field, f)
  }
  return [...out.values()]
}

/**
 * Every error of a query string against the route's query schema. Elysia validates query strings
 * against coerced schemas (`anyOf [numeric string, integer]`) and checks bounds while decoding,
 * one value at a time, so its error names one parameter, sometimes none; this checks them all.
 */
export function queryFieldErrors(schema: SchemaLike, params: URLSearchParams): FieldError[] {
  const out: FieldError[] = []
  const props = schema.properties ?? {}
  for (const key of new Set(params.keys())) {
    if (!(key in props)) out.push(fieldError('query', [key], 'is not a known parameter'))
  }
  for (const [key, prop] of Object.entries(props)) {
    const raw = params.get(key)
    if (raw === null) {
      if (schema.required?.includes(key) && prop.default === undefined) out.push(fieldError('query', [key], 'is required'))
      continue
    }
    // The typed branches only: a numeric string branch would accept "-1" for a minimum of 0.
    const branches = (prop.anyOf ?? [prop]).filter((b) => !(b.type === 'string' && b.format && b.format in FORMATS && b.format !== 'uuid'))
    const candidates: unknown[] = [raw]
    if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(raw)) candidates.push(Number(raw))
    if (raw === 'true' || raw === 'false') candidates.push(raw === 'true')
    if (branches.some((b) => candidates.some((c) => Value.Check(b as never, c)))) continue
    const first = branches.length === 1 ? Value.Errors(branches[0] as never, candidates.at(-1)).First() : undefined
    out.push(fieldError('query', [key], messageOf(first ?? { type: E.Union, schema: prop }, 'query')))
  }
  return out
}
