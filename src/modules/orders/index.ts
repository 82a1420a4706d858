// Orders routes (tag `orders`): checkout, my orders, pay, cancel, and admin fulfilment steps.
// POST /orders and POST /orders/:id/pay require an Idempotency-Key (src/plugins/idempotency);
// POST /orders resolves its key, lines and gate ticket once (./checkout-door.ts).
import { Elysia } from 'elysia'
import { clientIp } from '../../lib/client-ip'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { idempotencyPlugin, parseIdempotencyKey } from '../../plugins/idempotency'
import { createOrder } from './checkout'
import { checkoutPlugin } from './checkout-door'
import { AdminStatusBody, CreateOrderBody, ListQuery, OrderIdParams, OrderPage, OrderView, PayBody, PaymentView } from './model'
import { startPayment } from './payment-flow'
import { cancelOrder, getOrder, listOrders, setStatusByAdmin } from './service'

export const ordersModule = new Elysia({ name: 'orders', tags: ['orders'] })
  .use(authPlugin)
  .use(checkoutPlugin)
  .use(idempotencyPlugin)
  .post(
    '/orders',
    async ({ user, body, idempotencyKey, ticket, request, server, set }) => {
      const order = await createOrder(user.id, body, idempotencyKey, ticket, undefined, { ip: clientIp(server, request) })
      set.status = 201
      set.headers.location = `/api/v1/orders/${order.id}`
      return order
    },
    {
      auth: 'customer',
      checkout: true,
      idempotent: true,
      body: CreateOrderBody,
      detail: {
        summary: 'Check out: create an order and reserve its stock',
        description:
          'Send `items` or `fromCart: true`. Prices come from the server. Duplicate product lines are merged (≤ 50 products, ≤ 100 units each). Not enough stock → 409 `out_of_stock` naming the products; nothing is written when anything fails. Every order is scored for fraud: a risky one is created `on_hold` (stock reserved, not payable until an admin approves it), a very risky one is refused with 422 `risk_declined`. 201 with the order, in the same shape as GET /orders/:id.',
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
