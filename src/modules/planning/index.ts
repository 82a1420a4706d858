// Inventory planning routes (issue 26), all admin-only (tag `planning`): suppliers and offers,
// purchase orders and their state machine, forecasts, reorder suggestions. Planning alerts are
// listed by GET /admin/alerts (the alerts module owns the one alert list).
// HTTP only; the rules live in suppliers.ts, purchase-orders.ts, demand.ts and replenish.ts.
import { Elysia, t } from 'elysia'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { idempotencyPlugin, parseIdempotencyKey } from '../../plugins/idempotency'
import { forecastFor } from './demand'
import * as M from './model'
import {
  cancelPurchaseOrder,
  closePurchaseOrder,
  createPurchaseOrder,
  getPurchaseOrder,
  listPurchaseOrders,
  receivePurchaseOrder,
  sendPurchaseOrder,
} from './purchase-orders'
import { acceptSuggestion, dismissSuggestion, listSuggestions } from './replenish'
import { addOffer, createSupplier, deleteSupplier, getSupplier, listOffers, listSuppliers, updateSupplier } from './suppliers'

const tags = ['planning']
const admin = 'admin' as const

const suppliersRoutes = new Elysia({ name: 'planning-suppliers' })
  .use(authPlugin)
  .post(
    '/admin/suppliers',
    async ({ body, set }) => {
      const s = await createSupplier(body)
      set.status = 201
      set.headers.location = `/api/v1/admin/suppliers/${s.id}`
      return s
    },
    {
      auth: admin,
      body: M.SupplierBody,
      detail: { tags, summary: 'Create a supplier (reliability is computed, never sent: sending it → 422)' },
      response: { 201: M.Supplier, ...problems(401, 403, 422) },
    },
  )
  .get('/admin/suppliers', ({ query }) => listSuppliers(query.limit ?? 50, query.cursor), {
    auth: admin,
    query: t.Object(M.PageQuery),
    detail: { tags, summary: 'Suppliers with their computed reliability' },
    response: { 200: M.SupplierPage, ...problems(401, 403, 422) },
  })
  .get('/admin/suppliers/:id', ({ params }) => getSupplier(params.id), {
    auth: admin,
    params: M.IdParams,
    detail: { tags, summary: 'One supplier' },
    response: { 200: M.Supplier, ...problems(401, 403, 404, 422) },
  })
  .patch('/admin/suppliers/:id', ({ params, body }) => updateSupplier(params.id, body), {
    auth: admin,
    params: M.IdParams,
    body: M.SupplierPatch,
    detail: { tags, summary: 'Change name, contact or lead time' },
    response: { 200: M.Supplier, ...problems(401, 403, 404, 422) },
  })
  .delete(
    '/admin/suppliers/:id',
    async ({ params, set }) => {
      await deleteSupplier(params.id)
      set.status = 204
    },
    {
      auth: admin,
      params: M.IdParams,
      detail: { tags, summary: 'Delete a supplier without purchase orders (409 otherwise)' },
      response: { 204: t.Void(), ...problems(401, 403, 404, 409, 422) },
    },
  )
  .post(
    '/admin/suppliers/:id/offers',
    async ({ params, body, set }) => {
      const o = await addOffer(params.id, body)
      set.status = 201
      return o
    },
    {
      auth: admin,
      params: M.IdParams,
      body: M.OfferBody,
      detail: { tags, summary: "Add the supplier's offer for a product (cost, MOQ, pack size, lead time)" },
      response: { 201: M.Offer, ...problems(401, 403, 404, 409, 422) },
    },
  )
  .get('/admin/suppliers/:id/offers', ({ params }) => listOffers(params.id), {
    auth: admin,
    params: M.IdParams,
    detail: { tags, summary: "The supplier's offers" },
    response: { 200: M.OfferList, ...problems(401, 403, 404, 422) },
  })

const poAction = (summary: string) => ({
  auth: admin,
  params: M.IdParams,
  detail: { tags, summary },
  response: { 200: M.PurchaseOrder, ...problems(401, 403, 404, 409, 422) },
})

const purchaseOrderRoutes = new Elysia({ name: 'planning-purchase-orders' })
  .use(authPlugin)
  .use(idempotencyPlugin)
  .post(
    '/admin/purchase-orders',
    async ({ body, set }) => {
      const po = await createPurchaseOrder(body)
      set.status = 201
      set.headers.location = `/api/v1/admin/purchase-orders/${po.id}`
      return po
    },
    {
      auth: admin,
      body: M.CreatePoBody,
      detail: { tags, summary: "Create a draft purchase order (prices default to the supplier's offers)" },
      response: { 201: M.PurchaseOrder, ...problems(401, 403, 422) },
    },
  )
  .get('/admin/purchase-orders', ({ query }) => listPurchaseOrders({ ...query, limit: query.limit ?? 50 }), {
    auth: admin,
    query: M.PoListQuery,
    detail: { tags, summary: 'Purchase orders, newest first' },
    response: { 200: M.PurchaseOrderPage, ...problems(401, 403, 422) },
  })
  .get('/admin/purchase-orders/:id', ({ params }) => getPurchaseOrder(params.id), poAction('One purchase order'))
  .post('/admin/purchase-orders/:id/send', ({ params }) => sendPurchaseOrder(params.id), poAction('draft → sent'))
  .post('/admin/purchase-orders/:id/cancel', ({ params }) => cancelPurchaseOrder(params.id), poAction('draft | sent → cancelled'))
  .post(
    '/admin/purchase-orders/:id/close',
    ({ params }) => closePurchaseOrder(params.id),
    poAction('received | partially_received → closed (short-closing lowers the fill rate)'),
  )
  .post(
    '/admin/purchase-orders/:id/receive',
    ({ params, body, request }) => receivePurchaseOrder(params.id, body.lines, parseIdempotencyKey(request.headers.get('idempotency-key'))),
    {
      auth: admin,
      idempotent: true,
      params: M.IdParams,
      body: M.ReceiveBody,
      detail: {
        tags,
        summary: 'Receive goods: restocks through inventory (ledger rows, gate raised); Idempotency-Key required',
        description:
          'sent | partially_received → partially_received | received. More than a line has outstanding → 409 `over_receipt` naming `lines.N.quantity`; the same key again restocks nothing.',
      },
      response: { 200: M.PurchaseOrder, ...problems(400, 401, 403, 404, 409, 422) },
    },
  )

const forecastRoutes = new Elysia({ name: 'planning-forecasts' })
  .use(authPlugin)
  .get(
    '/admin/forecasts/:productId',
    async ({ params }) => {
      const { sigma: _, ...view } = await forecastFor(params.productId)
      return view
    },
    {
      auth: admin,
      params: M.ProductParams,
      detail: { tags, summary: 'Daily demand forecast for the next 28 days with 80 % / 95 % intervals, and the history it came from' },
      response: { 200: M.Forecast, ...problems(401, 403, 404, 422) },
    },
  )
  .get('/admin/reorder-suggestions', ({ query }) => listSuggestions(query.status ?? 'open'), {
    auth: admin,
    query: M.SuggestionQuery,
    detail: { tags, summary: 'Reorder suggestions (default: open), each naming a supplier' },
    response: { 200: M.SuggestionList, ...problems(401, 403, 422) },
  })
  .post('/admin/reorder-suggestions/:id/accept', ({ params }) => acceptSuggestion(params.id), {
    auth: admin,
    params: M.IdParams,
    detail: { tags, summary: "Accept: adds the quantity to the supplier's draft purchase order (one draft per supplier)" },
    response: { 200: t.Object({ purchaseOrderId: t.String() }), ...problems(401, 403, 404, 409, 422) },
  })
  .post('/admin/reorder-suggestions/:id/dismiss', ({ params }) => dismissSuggestion(params.id), {
    auth: admin,
    params: M.IdParams,
    detail: { tags, summary: 'Dismiss an open suggestion' },
    response: { 200: M.Suggestion, ...problems(401, 403, 404, 409, 422) },
  })

export const planningModule = new Elysia({ name: 'planning', tags }).use(suppliersRoutes).use(purchaseOrderRoutes).use(forecastRoutes)
