// Inventory routes: stock of a product, admin restock, and the movement ledger. HTTP only; the
// rules live in service.ts.
import { Elysia } from 'elysia'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { InventoryModel } from './model'
import { listMovements } from './movements'
import { getInventory, restock } from './service'

export const inventoryModule = new Elysia({ name: 'inventory', tags: ['inventory'] })
  .use(authPlugin)
  .get('/inventory/:productId', ({ params }) => getInventory(params.productId), {
    params: InventoryModel.params,
    detail: { tags: ['inventory'], summary: 'Stock of a product (onHand, reserved, available)' },
    response: { 200: InventoryModel.inventory, ...problems(404, 422) },
  })
  .post(
    '/inventory/:productId/restock',
    ({ params, body, user }) => restock(params.productId, body.quantity, body.reason ?? null, user.id),
    {
      auth: 'admin',
      params: InventoryModel.params,
      body: InventoryModel.restock,
      detail: { tags: ['inventory'], summary: 'Add units on hand (admin); ledgered as a restock movement' },
      response: { 200: InventoryModel.inventory, ...problems(400, 401, 403, 404, 422) },
    },
  )
  .get('/inventory/:productId/movements', ({ params, query }) => listMovements(params.productId, query.limit ?? 50, query.cursor), {
    auth: 'admin',
    params: InventoryModel.params,
    query: InventoryModel.movementsQuery,
    detail: { tags: ['inventory'], summary: 'The append-only movement ledger of a product, newest first (admin)' },
    response: { 200: InventoryModel.movements, ...problems(401, 403, 404, 422) },
  })
