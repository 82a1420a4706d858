// Bull Board at /admin/queues (official @bull-board/elysia adapter, which works on Elysia 1.4),
// admins only. API clients send `Authorization: Bearer <admin JWT>`. A browser cannot add that
// header to a page load, so an admin opens
//   /admin/queues/login?token=<admin JWT>
// once: the token is verified and stored in an HttpOnly, SameSite=Strict cookie scoped to
// /admin/queues (Secure on https) that lives no longer than the token, and the redirect drops the
// token from the address bar. SameSite=Strict keeps other sites from riding the cookie into the
// board's mutating routes (retry, clean, pause). Non-admins get 401/403 problem+json everywhere.
import type { Queue } from 'bullmq'
import { Elysia, t } from 'elysia'
import { QUEUES, queue, registerQueueDepthGauge } from '../../infra/queues'
import { redisUrl } from '../../infra/redis'
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../../lib/errors'
import { problems } from '../../lib/problem-schema'
import { type AuthUser, accessJwt, authenticate } from '../../plugins/auth'

export const BOARD_PATH = '/admin/queues'
export const BOARD_COOKIE = 'stampede_board'

// API processes serve /metrics too: queue depth is read from Redis on scrape wherever it is served.
if (redisUrl()) registerQueueDepthGauge()

/**
 * The board itself (Bull Board's UI, its JSON API and its dependencies, ~11 MB of every API
 * process's memory) is loaded on an admin's first visit, not at startup: most API processes of a
 * flash sale never serve it. Its routes run in their own small Elysia app behind our guard.
 */
let board: Promise<Elysia> | null = null
const NO_ROUTE = 'x-board-no-route'

async function serveBoard(request: Request): Promise<Response> {
  const res = await (await loadBoard()).handle(request)
  if (res.headers.get(NO_ROUTE)) throw new NotFoundError('Page', `No board page at ${new URL(request.url).pathname}`)
  return res
}

function loadBoard(): Promise<Elysia> {
  board ??= (async () => {
    const [{ createBullBoard }, { BullMQAdapter }, { ElysiaAdapter }] = await Promise.all([
      import('@bull-board/api'),
      import('@bull-board/api/bullMQAdapter'),
      import('@bull-board/elysia'),
    ])
    /** bullmq 6 moved the raw client to `queue.getBackend().client`; Bull Board 6.21 still reads `queue.client`. */
    class BullMQ6Adapter extends BullMQAdapter {
      constructor(private readonly q: Queue) {
        super(q)
      }
      private raw() {
        return (this.q as unknown as { getBackend(): { client: Promise<{ info(): Promise<string> }> } }).getBackend().client
      }
      override async getRedisInfo(): Promise<string> {
        return (await this.raw()).info()
      }
      override getClient() {
        return this.raw() as unknown as ReturnType<InstanceType<typeof BullMQAdapter>['getClient']>
      }
    }
    const serverAdapter = new ElysiaAdapter(BOARD_PATH)
    createBullBoard({
      // Without Redis there are no queues to show; the board still answers (empty) for admins.
      queues: redisUrl() ? QUEUES.map((q) => new BullMQ6Adapter(queue(q) as unknown as Queue)) : [],
      serverAdapter,
      options: { uiConfig: { boardTitle: 'Stampede jobs' } },
    })
    // A path the board does not have is our 404 problem, not the board's own error handler (a 500).
    return new Elysia()
      .onError(({ code }) => (code === 'NOT_FOUND' ? new Response(null, { status: 404, headers: { [NO_ROUTE]: '1' } }) : undefined))
      .use(await serverAdapter.registerPlugin()) as unknown as Elysia
  })().catch((err) => {
    board = null // a failed load is retried on the next visit
    throw err
  })
  return board
}

function cookieToken(cookieHeader: string | undefined): string | undefined {
  for (const part of (cookieHeader ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=')
    if (k === BOARD_COOKIE) return decodeURIComponent(v.join('='))
  }
  return undefined
}

async function requireAdmin(headers: Record<string, string | undefined>): Promise<AuthUser> {
  const fromCookie = cookieToken(headers.cookie)
  const authorization = headers.authorization ?? (fromCookie ? `Bearer ${fromCookie}` : undefined)
  if (!authorization) throw new UnauthorizedError(`Send a bearer token, or sign in at ${BOARD_PATH}/login?token=<admin JWT>`)
  const user = await authenticate(authorization)
  if (user.role !== 'admin') throw new ForbiddenError('Admin role required')
  return user
}

const cookie = (value: string, maxAge: number, secure: boolean) =>
  `${BOARD_COOKIE}=${value}; Path=${BOARD_PATH}; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`

export const adminQueuesModule = new Elysia({ name: 'admin-queues' })
  .use(accessJwt)
  .get(
    `${BOARD_PATH}/login`,
    async ({ accessJwt, query, request, set }) => {
      await requireAdmin({ authorization: `Bearer ${query.token}` })
      const { exp } = (await accessJwt.verify(query.token, { algorithms: ['HS256'] })) as { exp?: number }
      const maxAge = Math.max(0, (exp ?? 0) - Math.floor(Date.now() / 1000))
      set.status = 303
      set.headers.location = `${BOARD_PATH}/`
      set.headers['set-cookie'] = cookie(encodeURIComponent(query.token), maxAge, new URL(request.url).protocol === 'https:')
      return ''
    },
    {
      query: t.Object({ token: t.String({ minLength: 1, maxLength: 4096 }) }),
      response: { 303: t.String(), ...problems(401, 403, 422) },
      detail: { tags: ['admin'], summary: 'Browser sign-in to Bull Board: exchanges an admin token for an HttpOnly cookie' },
    },
  )
  .get(
    `${BOARD_PATH}/logout`,
    ({ request, set }) => {
      set.status = 303
      set.headers.location = `${BOARD_PATH}/login`
      set.headers['set-cookie'] = cookie('', 0, new URL(request.url).protocol === 'https:')
      return ''
    },
    { response: { 303: t.String() }, detail: { tags: ['admin'], summary: 'Drops the Bull Board cookie' } },
  )
  // Local hook: covers every board route registered below (page, static assets, JSON API).
  .onBeforeHandle(async ({ headers }) => {
    await requireAdmin(headers)
  })
  .all(BOARD_PATH, ({ request }) => serveBoard(request), { detail: { hide: true } })
  .all(`${BOARD_PATH}/*`, ({ request }) => serveBoard(request), { detail: { hide: true } })
