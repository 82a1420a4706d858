// OpenAPI 3 spec at /swagger/json and Swagger UI at /swagger, with the UI's assets served from
// swagger-ui-dist by this app so the page renders with no internet access.
import { openapi } from '@elysiajs/openapi'
import { FormatRegistry } from '@sinclair/typebox'
import { Elysia, t } from 'elysia'
import { fullFormats } from 'elysia/type-system/format'
import { NotFoundError } from '../lib/errors'
import { isUuid } from '../lib/uuid'
import { type Document, finishDocument } from './openapi-document'

// Importing @elysiajs/openapi 1.4.16 replaces TypeBox's global `uuid`, `email`, `date`, `time`,
// `url`… format checks with ones that build a new Zod schema on every call (its bundled
// Zod-to-TypeBox bridge). Profiled: a third of the CPU of GET /products/:id went into validating
// the id. Elysia's own compiled checks go back; `uuid` is the canonical 8-4-4-4-12 hex form that
// Postgres parses (Elysia's also accepts a `urn:uuid:` prefix, which Postgres does not).
for (const [name, check] of Object.entries(fullFormats)) {
  if (!FormatRegistry.Has(name)) continue
  FormatRegistry.Set(name, check instanceof RegExp ? (v: string) => check.test(v) : (check as (v: string) => boolean))
}
FormatRegistry.Set('uuid', isUuid)

const ASSETS = new Set(['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png', 'favicon-16x16.png'])
const assetDir = `${import.meta.dir}/../../node_modules/swagger-ui-dist`

export const openapiPlugin = new Elysia({ name: 'openapi' })
  // The generated document is finished once (openapi-document.ts) and that copy is served. The
  // hook is registered before the plugin because hooks only reach routes added after them, and is
  // local to this plugin so the API's routes do not carry it.
  .onAfterHandle(({ path, responseValue }) => {
    if (path === '/swagger/json' && responseValue && typeof responseValue === 'object') return published(responseValue as Document)
  })
  .use(
    openapi({
      path: '/swagger',
      specPath: '/swagger/json',
      provider: 'swagger-ui',
      openapiVersion: '3.1.1',
      // staticFile: false — the CSV exports (…/orders.csv) are API routes, not static files.
      exclude: { paths: [/^\/swagger/, '/metrics'], staticFile: false },
      swagger: {
        // The spec URL must be absolute: the plugin's default is relative ("swagger/json"), which the
        // page at /swagger/ resolves to /swagger/swagger/json ("Failed to load API definition"). Its
        // types omit `url`, but it spreads these options over its own.
        ...({ url: '/swagger/json' } as object),
        cdn: '/swagger/assets/swagger-ui-bundle.js',
        theme: '/swagger/assets/swagger-ui.css',
        autoDarkMode: false,
        persistAuthorization: true,
      },
      documentation: {
        info: {
          title: 'Stampede API',
          version: '0.1.0',
          description:
            'E-commerce backend that stays correct under a flash-sale stampede. Errors are RFC 9457 application/problem+json with a stable `code`.',
          contact: { name: 'Stampede maintainers' },
        },
        servers: [{ url: '/', description: 'the server this document is served from' }],
        tags: [
          { name: 'system', description: 'Health, readiness and metrics' },
          { name: 'auth', description: 'Registration, login, tokens' },
          { name: 'admin', description: 'Administration (admin role)' },
          { name: 'catalog', description: 'Products, categories, reviews, search' },
          { name: 'inventory', description: 'Stock levels and reservations' },
          { name: 'cart', description: 'Shopping cart' },
          { name: 'orders', description: 'Checkout, orders, payments' },
          { name: 'recommendations', description: 'Also-bought and personal recommendations' },
          { name: 'planning', description: 'Suppliers, purchase orders, demand forecasts, reorder suggestions (admin)' },
          { name: 'ml', description: 'Model registry (versions, training, rollback) and customer segments' },
          { name: 'sales', description: 'Flash-sale events: scheduled drops with a sale price, a unit pool and a per-customer limit' },
          { name: 'search', description: 'Search clicks, ranking rules, reindex, search analytics (the search itself: GET /products?q=)' },
          { name: 'risk', description: 'Fraud scoring rules and the risk review queue (admin)' },
        ],
        components: {
          securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        },
      },
    }),
  )
  .get(
    '/swagger/assets/:file',
    ({ params, set }) => {
      if (!ASSETS.has(params.file)) throw new NotFoundError('Asset')
      set.headers['cache-control'] = 'public, max-age=86400'
      return Bun.file(`${assetDir}/${params.file}`)
    },
    { params: t.Object({ file: t.String() }), detail: { hide: true } },
  )

const finished = new WeakMap<object, Document>()

/** The finished document of the plugin's (cached) generated one, built on first request. */
function published(generated: Document): Document {
  let doc = finished.get(generated)
  if (!doc) {
    doc = finishDocument(generated)
    finished.set(generated, doc)
  }
  return doc
}
