// Cross-cutting HTTP policy: body size limit (413 problem+json before parsing, on the bytes actually
// sent, chunked bodies included), the request's database deadline, security headers, and the
// request duration histogram (Vary: Origin comes from CORS, Authorization from the auth macro).
// Runs first so even rejected requests are measured and labelled.
import { Elysia } from 'elysia'
import { config } from '../config'
import { requestContext } from '../infra/context'
import { logger } from '../infra/logger'
import { httpDuration } from '../infra/metrics'
import { problemResponse, problemStatusOf } from './errors'

/** When the request began (performance.now()), kept in its context for the duration histogram. */
const STARTED = Symbol('startedAt')
type Timed = { [STARTED]?: number }

const API_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
}
// Swagger UI and Bull Board are HTML apps served from our own origin.
const UI_HEADERS = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
}

// Connection: close, or Bun reads and discards the rest of a declared body (300 MB measured) to
// keep the connection alive.
function tooLarge(holder: object, detail: string): Response {
  return problemResponse(
    holder,
    413,
    'payload_too_large',
    'Content Too Large',
    detail,
    { limit: config.BODY_LIMIT_BYTES },
    { connection: 'close' },
  )
}

/**
 * A chunked body declares no length: its bytes are counted as they arrive, from a clone, so the
 * body parser later reads the original (the tee buffers at most BODY_LIMIT_BYTES of it). Reading
 * stops at the first byte over the limit: a larger upload is never held in memory.
 */
async function countStreamedBody(holder: object, request: Request): Promise<Response | undefined> {
  const reader = request.clone().body?.getReader()
  if (!reader) return
  let bytes = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      bytes += value.byteLength
      if (bytes > config.BODY_LIMIT_BYTES) {
        reader.cancel().catch(() => {})
        return tooLarge(holder, `Request body is over ${config.BODY_LIMIT_BYTES} bytes, the limit`)
      }
    }
  } catch {
    // The client went away mid-body: the parser meets the same broken stream and answers for it.
  }
}

export const httpPlugin = new Elysia({ name: 'http' })
  .onRequest((ctx) => {
    const { request, set } = ctx
    const holder: object = ctx
    const now = performance.now()
    ;(ctx as Timed)[STARTED] = now
    // The request-id plugin entered this request's context just before.
    const context = requestContext.getStore()
    if (context) context.deadline = now + config.REQUEST_TIMEOUT_MS
    const path = request.url.slice(request.url.indexOf('/', 8))
    Object.assign(set.headers, path.startsWith('/swagger') || path.startsWith('/admin/queues') ? UI_HEADERS : API_HEADERS)
    const declared = request.headers.get('content-length')
    if (declared !== null) {
      // Bun reads exactly Content-Length bytes of body, so the declared length is the bytes read.
      const length = Number(declared)
      if (length > config.BODY_LIMIT_BYTES)
        return tooLarge(holder, `Request body is ${length} bytes; the limit is ${config.BODY_LIMIT_BYTES}`)
    } else if (request.headers.get('transfer-encoding') !== null) {
      return countStreamedBody(holder, request)
    }
  })
  .onAfterResponse({ as: 'global' }, (ctx) => {
    const { request, set } = ctx
    const holder: object = ctx
    const t0 = (ctx as Timed)[STARTED]
    if (t0 === undefined) return
    const seconds = (performance.now() - t0) / 1000
    // `route` is the matched pattern (e.g. /api/v1/products/:id): bounded label cardinality.
    const route = (ctx as { route?: string }).route || 'unmatched'
    // A handler or error mapper may return a Response (problem+json): its status wins over set.status.
    const value = (ctx as { responseValue?: unknown }).responseValue
    const status = String(
      problemStatusOf(holder) ?? (value instanceof Response ? value.status : typeof set.status === 'number' ? set.status : 200),
    )
    httpDuration.observe({ method: request.method, route, status }, seconds)
    if (logger.isLevelEnabled('info')) {
      logger.info({ method: request.method, route, status: Number(status), ms: Math.round(seconds * 1e4) / 10 }, 'request')
    }
  })
