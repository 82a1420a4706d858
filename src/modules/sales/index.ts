// Flash-sale routes (tag `sales`): admin CRUD + cancel, the public views the crowd polls (ETag,
// short cache), and POST /sales/:id/orders behind the sale's door. Rules live in service.ts.
import { Elysia } from 'elysia'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { claimedMarker, idempotencyPlugin, keyIsHeld, parseIdempotencyKey } from '../../plugins/idempotency'
import { admitFromPool, type PoolTicket, releasePoolTicket } from '../inventory/service'
import { OrderView } from '../orders/model'
import { setSaleLookup } from '../search/service'
import { SoldOutError } from './errors'
import { AdminSaleList, AdminSaleView, CreateSaleBody, PatchSaleBody, SaleList, SaleOrderBody, SaleParams, SaleView } from './model'
import {
  cancelSale,
  createSale,
  earlyRefusal,
  getSaleAdmin,
  listSalesAdmin,
  listSalesPublic,
  patchSale,
  placeSaleOrder,
  productsInOpenSales,
  requireSnapshot,
} from './service'
import { publicView } from './snapshot'

// Search lists products of open sales as `highlighted`; it cannot import sales (sales → orders).
setSaleLookup(productsInOpenSales)

const tags = ['sales']
const adminTags = ['sales', 'admin']

/**
 * The sale's door, before the Idempotency-Key is claimed (the same rules as the checkout door of
 * POST /orders, orders/index.ts): a request the sale refuses anyway — not open yet (425), ended
 * (410), over the limit in one order, or sold out by the local flag or the Redis gate (409) — is
 * answered without a Postgres write and without storing anything under its key; an admitted one
 * carries a gate ticket for its units to the pool's transaction. Before refusing, a key that is
 * already held (a retry of a request that ran) is sent on to the full path, which replays it.
 */
type Resolved = { idempotencyKey: string; markerSet: boolean; saleTicket: PoolTicket | null }

async function resolveSaleDoor(ctx: { body: unknown; params: unknown; request: Request; user?: { id: string } }): Promise<Resolved> {
  const idempotencyKey = parseIdempotencyKey(ctx.request.headers.get('idempotency-key'))
  const saleId = (ctx.params as { id: string }).id
  const quantity = (ctx.body as { quantity: number }).quantity
  const user = ctx.user
  const pass: Resolved = { idempotencyKey, markerSet: false, saleTicket: null }
  if (!user) return pass
  const sale = await requireSnapshot(saleId)
  let refusal = earlyRefusal(sale, quantity, Date.now())
  let verifyKey = true
  if (!refusal) {
    const res = await admitFromPool(saleId, quantity, claimedMarker(user.id, idempotencyKey))
    if (res && 'soldOut' in res) {
      refusal = new SoldOutError()
      verifyKey = res.verifyKey
    } else if (res) return { idempotencyKey, markerSet: true, saleTicket: res }
  }
  if (!refusal) return pass
  // A held key gets its own answer (replay or in progress) from the full path; can't tell
  // (Postgres unreachable) → the full path decides as well. The gate's own refusal already saw
  // that the key has no marker while every claimed key has one (verifyKey false).
  if (verifyKey && (await keyIsHeld({ userId: user.id, key: idempotencyKey }).catch(() => true))) return pass
  throw refusal
}

const saleDoor = new Elysia({ name: 'sales-door' }).macro({
  saleDoor: {
    resolve: (ctx) => resolveSaleDoor(ctx as never),
    afterResponse(ctx) {
      const ticket = (ctx as { saleTicket?: PoolTicket | null }).saleTicket
      if (ticket && !ticket.done) void releasePoolTicket(ticket, true).catch(() => {})
    },
  },
})

/** True when If-None-Match names this ETag (weak comparison). */
function notModified(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false
  const weak = (s: string) => s.trim().replace(/^W\//, '')
  return ifNoneMatch.split(',').some((tag) => tag.trim() === '*' || weak(tag) === weak(etag))
}

/**
 * The polled view: the ETag covers everything but `serverTime`, so a poller's If-None-Match gets
 * 304 until the status or `remaining` changes; max-age=1 lets a CDN or browser absorb the rest.
 */
function cacheable(body: SaleView, request: Request, set: { headers: Record<string, unknown> }): Response {
  const { serverTime: _, ...stable } = body
  const etag = `W/"${Bun.hash(JSON.stringify(stable)).toString(36)}"`
  const headers = { ...(set.headers as Record<string, string>), etag, 'cache-control': 'public, max-age=1' }
  set.headers = {}
  if (notModified(request.headers.get('if-none-match'), etag)) return new Response(null, { status: 304, headers })
  return new Response(JSON.stringify(body), { headers: { ...headers, 'content-type': 'application/json;charset=utf-8' } })
}

export const salesModule = new Elysia({ name: 'sales', tags })
  .use(authPlugin)
  .use(saleDoor)
  .use(idempotencyPlugin)
  .post(
    '/admin/sales',
    async ({ body, set }) => {
      const sale = await createSale(body)
      set.status = 201
      set.headers.location = `/api/v1/admin/sales/${sale.id}`
      return sale
    },
    {
      auth: 'admin',
      body: CreateSaleBody,
      detail: {
        tags: adminTags,
        summary: "Schedule a flash sale (admin): moves `units` out of the product's stock into the sale's pool",
        description: '409 `out_of_stock` when the product lacks the units. The units go back at `endsAt` (or on cancel).',
      },
      response: { 201: AdminSaleView, ...problems(401, 403, 409, 422) },
    },
  )
  .get('/admin/sales', () => listSalesAdmin(), {
    auth: 'admin',
    detail: { tags: adminTags, summary: 'Every sale, newest first (admin; at most 200)' },
    response: { 200: AdminSaleList, ...problems(401, 403) },
  })
  .get('/admin/sales/:id', ({ params }) => getSaleAdmin(params.id), {
    auth: 'admin',
    params: SaleParams,
    detail: { tags: adminTags, summary: 'One sale with its pool counters (admin)' },
    response: { 200: AdminSaleView, ...problems(401, 403, 404, 422) },
  })
  .patch('/admin/sales/:id', ({ params, body }) => patchSale(params.id, body), {
    auth: 'admin',
    params: SaleParams,
    body: PatchSaleBody,
    detail: {
      tags: adminTags,
      summary: 'Reschedule a sale before its start, or raise its units (admin)',
      description:
        '409 `sale_started` for a reschedule after the start, `sale_ended`/`sale_cancelled` after the end, `out_of_stock` when the product lacks the extra units; lowering `units` → 422.',
    },
    response: { 200: AdminSaleView, ...problems(401, 403, 404, 409, 422) },
  })
  .post('/admin/sales/:id/cancel', ({ params }) => cancelSale(params.id), {
    auth: 'admin',
    params: SaleParams,
    detail: { tags: adminTags, summary: "Cancel a sale (admin): the pool's free units go back to the product at once" },
    response: { 200: AdminSaleView, ...problems(401, 403, 404, 409, 422) },
  })
  .get('/sales', async () => listSalesPublic(), {
    detail: { tags, summary: 'Scheduled and live flash sales, soonest first' },
    response: { 200: SaleList },
  })
  .get(
    '/sales/:id',
    async ({ params, request, set }) => cacheable(publicView(await requireSnapshot(params.id), Date.now()), request, set),
    {
      params: SaleParams,
      detail: {
        tags,
        summary: 'One sale: status, remaining units and the server clock (cheap to poll: ETag, max-age=1)',
        description: '`remaining` may lag the truth by a fraction of a second; If-None-Match → 304 while nothing but `serverTime` changed.',
      },
      response: { 200: SaleView, ...problems(404, 422) },
    },
  )
  .post(
    '/sales/:id/orders',
    async ({ user, params, body, idempotencyKey, saleTicket, set }) => {
      const order = await placeSaleOrder(user, params.id, body.quantity, idempotencyKey, saleTicket)
      set.status = 201
      set.headers.location = `/api/v1/orders/${order.id}`
      return order
    },
    {
      auth: 'customer',
      saleDoor: true,
      idempotent: true,
      params: SaleParams,
      body: SaleOrderBody,
      detail: {
        tags,
        summary: 'Buy in a flash sale: an ordinary order at the sale price (requires Idempotency-Key)',
        description:
          '201 with the order (pay it with POST /orders/:id/pay; unpaid, it expires and its units go back to the sale). 425 `sale_not_started` with Retry-After before `startsAt`; 409 `sold_out`; 409 `per_customer_limit` (active and paid orders in this sale count); 410 `sale_ended` after `endsAt` or a cancel; 404 unknown sale.',
      },
      response: { 201: OrderView, ...problems(400, 401, 404, 409, 410, 422, 425, 503) },
    },
  )
