// The Idempotency-Key header and the request fingerprint (draft-ietf-httpapi-idempotency-key-header).
import { configure } from 'safe-stable-stringify'
import { BadRequestError } from '../../lib/errors'

const KEY_RE = /^[\x21-\x7e]{1,255}$/

/** Parses the header: a token or an RFC 8941 sf-string ("…"), 1–255 visible ASCII characters. */
export function parseIdempotencyKey(raw: string | null | undefined): string {
  if (raw === null || raw === undefined || raw.trim() === '') {
    throw new BadRequestError('The Idempotency-Key header is required for this request', 'idempotency_key_missing', {
      errors: [{ field: 'headers.idempotency-key', message: 'is required' }],
    })
  }
  let key = raw.trim()
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1)
  if (!KEY_RE.test(key)) {
    throw new BadRequestError('Idempotency-Key must be 1–255 visible ASCII characters', 'idempotency_key_invalid', {
      errors: [{ field: 'headers.idempotency-key', message: 'must be 1–255 visible ASCII characters' }],
    })
  }
  return key
}

// Object keys sorted at every level (code-unit order), undefined members dropped as JSON does.
const stable = configure({ deterministic: true, bigint: true, circularValue: TypeError })

/** JSON with object keys sorted at every level, so {a,b} and {b,a} fingerprint the same. */
export function canonicalJson(value: unknown): string {
  return stable(value) ?? ''
}

export function fingerprintOf(method: string, pathAndQuery: string, body: unknown): string {
  return new Bun.CryptoHasher('sha256').update(`${method}\n${pathAndQuery}\n${canonicalJson(body)}`).digest('hex')
}
