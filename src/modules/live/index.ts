// Live feeds over WebSocket: the admin feed (GET /admin/live?ticket=&since=, ticket from POST
// /admin/live/ticket) and the public per-sale status (GET /sales/:id/live). A bad ticket is a 401
// problem+json before the upgrade (resolve runs in the HTTP lifecycle, once; Elysia's ws
// beforeHandle runs twice and would burn the single-use ticket).
import { Elysia } from 'elysia'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { closeClient, issueTicket, openClient, redeemTicket, type Socket } from './feed'
import { AdminLiveQuery, LiveTicket, SaleLiveParams } from './model'
import { unwatchSale, watchSale } from './sales'

export { publishSaleStatus, type SaleStatus } from './sales'

// Bun's ServerWebSocket: Elysia's own typing of `raw` omits getBufferedAmount (Bun has it).
const sock = (raw: unknown) => raw as Socket

export const liveModule = new Elysia({ name: 'live' })
  .use(authPlugin)
  .post('/admin/live/ticket', async ({ user }) => ({ ticket: await issueTicket(user.id) }), {
    auth: 'admin',
    response: { 200: LiveTicket, ...problems(401, 403) },
    detail: { tags: ['admin'], summary: 'A single-use ticket (~30 s) to open the admin live WebSocket' },
  })
  .ws('/admin/live', {
    query: AdminLiveQuery,
    resolve: async ({ query }: { query: { ticket?: string } }) => ({ liveUser: await redeemTicket(query.ticket) }),
    open: async (ws) => {
      await openClient(sock(ws.raw), ws.data.query.since)
    },
    close: (ws) => closeClient(sock(ws.raw)),
    // The feed is one-way; a client message is ignored (not echoed, not an error).
    message: () => {},
  })
  .ws('/sales/:id/live', {
    params: SaleLiveParams,
    open: async (ws) => {
      await watchSale(sock(ws.raw), ws.data.params.id)
    },
    close: (ws) => unwatchSale(sock(ws.raw), ws.data.params.id),
    message: () => {},
  })
