// Request-scoped context without threading it through every call: the request-id plugin enters
// it at onRequest, and pino's mixin stamps its requestId on every log line, services' included.
import { AsyncLocalStorage } from 'node:async_hooks'

export type RequestContext = { requestId: string }

export const requestContext = new AsyncLocalStorage<RequestContext>()

export const currentRequestId = (): string | undefined => requestContext.getStore()?.requestId
