// Request-scoped context without threading it through every call: the request-id plugin enters
// it at onRequest, and pino's mixin stamps its requestId on every log line, services' included;
// the database layer reads the request's deadline from it.
import { AsyncLocalStorage } from 'node:async_hooks'

export type RequestContext = {
  requestId: string
  /** performance.now() by which the request's database work must be done (REQUEST_TIMEOUT_MS). */
  deadline?: number
}

export const requestContext = new AsyncLocalStorage<RequestContext>()

export const currentRequestId = (): string | undefined => requestContext.getStore()?.requestId
