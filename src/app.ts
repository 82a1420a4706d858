// Builds the Elysia app from cross-cutting plugins and feature modules. No I/O at import time
// beyond opening the (lazy) pools; index.ts owns listening and shutdown.
import { cors } from '@elysiajs/cors'
import { Elysia } from 'elysia'
import { config } from './config'
import { adminQueuesModule } from './modules/admin-queues'
import { alertsModule } from './modules/alerts'
import { analyticsModule } from './modules/analytics'
import { authModule } from './modules/auth'
import { cartModule } from './modules/cart'
import { catalogModule } from './modules/catalog'
import { inventoryModule } from './modules/inventory'
import { liveModule } from './modules/live'
import { mailModule } from './modules/mail'
import { mlModule } from './modules/ml'
import { ordersModule } from './modules/orders'
import { orderReviewActions } from './modules/orders/risk-actions'
import { paymentsModule } from './modules/payments'
import { planningModule } from './modules/planning'
import { recommendationsModule } from './modules/recommendations'
import { reviewsModule } from './modules/reviews'
import { riskModule } from './modules/risk'
import { salesModule } from './modules/sales'
import { searchModule } from './modules/search'
import { systemModule } from './modules/system'
import { usersModule } from './modules/users'
import { errorsPlugin } from './plugins/errors'
import { httpPlugin } from './plugins/http'
import { inputPlugin } from './plugins/input'
import { openapiPlugin } from './plugins/openapi'
import { rateLimitPlugin } from './plugins/rate-limit'
import { requestIdPlugin } from './plugins/request-id'
import { registerRoutes } from './plugins/route-table'

const origins = config.CORS_ORIGINS.split(',')
  .map((o) => o.trim())
  .filter(Boolean)

/** Feature modules mounted under /api/v1. */
export const api = new Elysia({ prefix: '/api/v1' })
  .use(authModule)
  .use(usersModule)
  .use(catalogModule)
  .use(reviewsModule)
  .use(inventoryModule)
  .use(cartModule)
  .use(ordersModule)
  .use(paymentsModule)
  .use(alertsModule)
  .use(mailModule)
  .use(recommendationsModule)
  .use(planningModule)
  .use(mlModule)
  .use(salesModule)
  .use(searchModule)
  .use(riskModule(orderReviewActions))
  .use(analyticsModule)
  .use(liveModule)

export const app = new Elysia({
  name: 'stampede',
  // Reject unknown body fields and query parameters (422 naming them) instead of silently dropping
  // them: `minPrice` for `minPriceCents` must not return an unfiltered list. Responses are then
  // checked exactly too (an extra field is a 500 of ours, never a leak).
  normalize: false,
  // The http plugin enforces BODY_LIMIT_BYTES on every body, chunked too, with a problem+json 413;
  // Bun's own refusal is a bare 413 it sends before any of our code runs, so it never gets to refuse.
  serve: { maxRequestBodySize: Number.MAX_SAFE_INTEGER },
  // A live-feed socket whose unsent backlog passes the bound is closed (it reconnects with
  // ?since=): memory per client stays bounded whatever a slow consumer does.
  websocket: { backpressureLimit: config.LIVE_CLIENT_BUFFER_BYTES, closeOnBackpressureLimit: true },
})
  .use(requestIdPlugin)
  .use(errorsPlugin)
  .use(inputPlugin)
  .use(httpPlugin)
  .use(
    cors({
      origin: origins.includes('*') ? true : origins,
      // Any origin may read public answers, but never with the user's cookies or HTTP auth: a
      // reflected Origin plus Allow-Credentials would let every site act as the signed-in user.
      credentials: !origins.includes('*'),
      exposeHeaders: [
        'x-request-id',
        'etag',
        'retry-after',
        'ratelimit',
        'ratelimit-policy',
        'idempotent-replayed',
        'location',
        'x-search-mode',
      ],
      allowedHeaders: ['content-type', 'authorization', 'idempotency-key', 'if-none-match', 'x-request-id'],
    }),
  )
  .use(openapiPlugin)
  .use(systemModule)
  .use(adminQueuesModule)
  .use(rateLimitPlugin)
  .use(api)

export type App = typeof app

// The plugins that index routes before a handler runs (405 vs 404, Vary, input rules) read them here.
registerRoutes(() => app.routes as never)
