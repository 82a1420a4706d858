// Cart routes (tag `cart`): the signed-in user's cart. Redis-backed; 503 when Redis is down.
import { Elysia, t } from 'elysia'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { CartView, ProductParams, SetQuantityBody } from './model'
import { clearCart, getCart, removeCartItem, setCartItem } from './service'

export const cartModule = new Elysia({ name: 'cart', prefix: '/cart', tags: ['cart'] })
  .use(authPlugin)
  .get('/', ({ user }) => getCart(user.id), {
    auth: 'customer',
    detail: { summary: 'My cart with current prices and availability', tags: ['cart'] },
    response: { 200: CartView, ...problems(401, 503) },
  })
  .put('/items/:productId', ({ user, params, body }) => setCartItem(user.id, params.productId, body.quantity), {
    auth: 'customer',
    params: ProductParams,
    body: SetQuantityBody,
    detail: { summary: 'Set the quantity of a product in my cart (0 removes it)', tags: ['cart'] },
    response: { 200: CartView, ...problems(400, 401, 404, 422, 503) },
  })
  .delete('/items/:productId', ({ user, params }) => removeCartItem(user.id, params.productId), {
    auth: 'customer',
    params: ProductParams,
    detail: { summary: 'Remove a product from my cart', tags: ['cart'] },
    response: { 200: CartView, ...problems(401, 422, 503) },
  })
  .delete(
    '/',
    async ({ user, set }) => {
      await clearCart(user.id)
      set.status = 204
    },
    {
      auth: 'customer',
      detail: { summary: 'Empty my cart', tags: ['cart'] },
      response: { 204: t.Void(), ...problems(401, 503) },
    },
  )
