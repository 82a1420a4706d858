// Orders routes (tag `orders`): checkout, my orders, pay, cancel, and admin fulfilment steps.
// POST /orders and POST /orders/:id/pay require an Idempotency-Key (src/plugins/idempotency.ts).
import { Elysia } from 'elysia'
import { isOwnRequest } from '../../lib/own-requests'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { claimedMarker, idempotencyPlugin, keyIsHeld, markerSet, parseIdempotencyKey } from '../../plugins/idempotency'
import { admitAtTheDoor, type GateTicket, OutOfStockError, returnGateTicket } from '../inventory/service'
import { createOrder, mergeLines } from './checkout'
import { AdminStatusBody, CreateOrderBody, ListQuery, OrderIdParams, OrderPage, OrderView, PayBody, PaymentView } from './model'
import { startPayment } from './payment-flow'
import { cancelOrder, getOrder, listOrders, setStatusByAdmin } from './service'

/**
 * The checkout's door for flash sales (gated strategy): before the Idempotency-Key is claimed in
 * Postgres, the Redis gate either answers 409 out_of_stock (it knows the items are gone) or takes
 * the units at once and hands the request a ticket for them. So no more requests go on to Postgres
 * than there are units, and the crowd behind them is answered from Redis alone.
 * - A refusal happens before the request executes, like a validation failure: nothing is written
 *   and nothing is stored under the key (Stripe's rule); a retry is evaluated afresh. A retry whose
 *   key was already claimed skips the door (marker in Redis) and gets the stored response. The
 *   door sets that marker itself when it admits, in the same Redis call. Redis can lose a marker
 *   (a restart, a failover), so before refusing, the door asks Postgres whether the key is held
 *   (one batched primary-key lookup per event-loop turn): a held key goes on to the full path,
 *   which replays it or answers idempotency_in_progress; only a key nobody holds is refused.
 * - The ticket goes to the reservation, which owns it from then on; if the request ends any other
 *   way (validation, idempotency replay or conflict, unknown product, an error), afterResponse
 *   gives the units back.
 * - The same line validation as the full path runs first, and the gate does not vouch for unknown
 *   or deleted products (the full path answers 422 for them), so every refusal here is one the
 *   full path would also give. Runs after `auth` and before `idempotent` (macros run in order).
 */
const tickets = new WeakMap<Request, GateTicket>()

const checkoutDoor = new Elysia({ name: 'orders-checkout-door' }).macro({
  checkoutDoor(enabled: boolean) {
    if (!enabled) return
    return {
      async beforeHandle(ctx: { body: unknown; request: Request }) {
        const user = (ctx as { user?: { id: string } }).user
        const body = ctx.body as { items?: { productId: string; quantity: number }[]; fromCart?: boolean } | null
        const idemKey = ctx.request.headers.get('idempotency-key')
        if (!body?.items?.length || body.fromCart !== undefined || !user || !idemKey) return
        const lines = mergeLines(body.items)
        const key = parseIdempotencyKey(idemKey)
        let ticket: GateTicket | null
        try {
          ticket = await admitAtTheDoor(lines, claimedMarker(user.id, key))
        } catch (err) {
          // Can't tell (Postgres unreachable): the full path decides, as for a held key. The
          // process's own (warm-up) requests never claim a key, so theirs cannot be held.
          if (err instanceof OutOfStockError && !isOwnRequest(ctx.request) && (await keyIsHeld({ userId: user.id, key }).catch(() => true)))
            return
          throw err
        }
        if (ticket) {
          tickets.set(ctx.request, ticket)
          markerSet(ctx.request) // the door set the key's marker as it admitted us
        }
      },
      afterResponse({ request }: { request: Request }) {
        const ticket = tickets.get(request)
        if (ticket) void returnGateTicket(ticket).catch(() => {})
      },
    }
  },
})

export const ordersModule = new Elysia({ name: 'orders', tags: ['orders'] })
  .use(authPlugin)
  .use(checkoutDoor)
  .use(idempotencyPlugin)
  .post(
    '/orders',
    async ({ user, body, request, set }) => {
      const order = await createOrder(user.id, body, parseIdempotencyKey(request.headers.get('idempotency-key')), tickets.get(request))
      set.status = 201
      set.headers.location = `/api/v1/orders/${order.id}`
      return order
    },
    {
      auth: 'customer',
      checkoutDoor: true,
      idempotent: true,
      body: CreateOrderBody,
      detail: {
        summary: 'Check out: create an order and reserve its stock',
        description:
          'Send `items` or `fromCart: true`. Prices come from the server. Duplicate product lines are merged (≤ 50 products, ≤ 100 units each). Not enough stock → 409 `out_of_stock` naming the products; nothing is written when anything fails. 201 with the order, in the same shape as GET /orders/:id.',
        tags: ['orders'],
      },
      response: { 201: OrderView, ...problems(400, 401, 409, 422, 503) },
    },
  )
  .get('/orders', ({ user, query }) => listOrders(user.id, query.limit, query.cursor), {
    auth: 'customer',
    query: ListQuery,
    detail: { summary: 'My orders, newest first', tags: ['orders'] },
    response: { 200: OrderPage, ...problems(401, 422) },
  })
  .get('/orders/:id', ({ user, params }) => getOrder(user, params.id), {
    auth: 'customer',
    params: OrderIdParams,
    detail: { summary: "One of my orders (admins: anyone's)", tags: ['orders'] },
    response: { 200: OrderView, ...problems(401, 404, 422) },
  })
  .post(
    '/orders/:id/pay',
    async ({ user, params, body, request, set }) => {
      const payment = await startPayment(user, params.id, body.paymentMethod, parseIdempotencyKey(request.headers.get('idempotency-key')))
      set.status = 202
      return payment
    },
    {
      auth: 'customer',
      idempotent: true,
      params: OrderIdParams,
      body: PayBody,
      detail: {
        summary: 'Pay for an order (the charge runs in the background)',
        description:
          '202 with the pending payment attempt; poll GET /orders/:id. The charge job retries transient gateway failures with exponential backoff; a decline or the last failed try marks the order `payment_failed`: its stock stays reserved, and until the reservation expires the order can be paid again (another method, a new Idempotency-Key) or cancelled. An unknown `paymentMethod` → 422. 503 when the payment queue (Redis) is down: nothing was charged.',
        tags: ['orders'],
      },
      response: { 202: PaymentView, ...problems(400, 401, 404, 409, 422, 503) },
    },
  )
  .post('/orders/:id/cancel', ({ user, params }) => cancelOrder(user, params.id), {
    auth: 'customer',
    params: OrderIdParams,
    detail: {
      summary: 'Cancel an order: releases its reservation (unpaid or payment failed), or refunds it when paid',
      tags: ['orders'],
    },
    response: { 200: OrderView, ...problems(401, 404, 409, 422) },
  })
  .patch('/admin/orders/:id', ({ user, params, body }) => setStatusByAdmin(user, params.id, body.status), {
    auth: 'admin',
    params: OrderIdParams,
    body: AdminStatusBody,
    detail: { summary: 'Advance an order through fulfilment (admin)', tags: ['orders', 'admin'] },
    response: { 200: OrderView, ...problems(401, 403, 404, 409, 422) },
  })
