// X-Request-Id: echo a sane client value, otherwise generate a UUIDv7; present on every response.
import { Elysia } from 'elysia'
import { requestContext } from '../infra/context'

const SANE = /^[A-Za-z0-9._:-]{1,128}$/
const ids = new WeakMap<Request, string>()

/** The request id of a request (also usable from onError, which runs outside derive). */
export function requestIdOf(request: Request): string {
  let id = ids.get(request)
  if (!id) {
    const given = request.headers.get('x-request-id')
    id = given && SANE.test(given) ? given : Bun.randomUUIDv7()
    ids.set(request, id)
  }
  return id
}

export const requestIdPlugin = new Elysia({ name: 'request-id' })
  .onRequest(({ request, set }) => {
    const requestId = requestIdOf(request)
    set.headers['x-request-id'] = requestId
    requestContext.enterWith({ requestId })
  })
  .derive({ as: 'global' }, ({ request }) => ({ requestId: requestIdOf(request) }))
