// X-Request-Id: echo a sane client value, otherwise generate a UUIDv7; present on every response.
// Kept on the request's Elysia context (one object from onRequest through onError and
// afterResponse), so error mapping, which runs outside derive, reads the same id.
import { Elysia } from 'elysia'
import { requestContext } from '../infra/context'

const SANE = /^[A-Za-z0-9._:-]{1,128}$/
const REQUEST_ID = Symbol('requestId')
type WithId = { request: Request; [REQUEST_ID]?: string }

/**
 * The request id of a request's context. Pass the context under another name (`const holder:
 * object = ctx`): handing `ctx` itself to a function makes Elysia prepare every part of every
 * request (see plugins/input.ts).
 */
export function requestIdOf(holder: object): string {
  const ctx = holder as WithId
  let id = ctx[REQUEST_ID]
  if (!id) {
    const given = ctx.request.headers.get('x-request-id')
    id = given && SANE.test(given) ? given : Bun.randomUUIDv7()
    ctx[REQUEST_ID] = id
  }
  return id
}

export const requestIdPlugin = new Elysia({ name: 'request-id' })
  .onRequest((ctx) => {
    const holder: object = ctx
    const requestId = requestIdOf(holder)
    ctx.set.headers['x-request-id'] = requestId
    requestContext.enterWith({ requestId })
  })
  .derive({ as: 'global' }, (ctx) => {
    const holder: object = ctx
    return { requestId: requestIdOf(holder) }
  })
