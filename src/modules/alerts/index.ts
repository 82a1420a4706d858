// Admin view of low-stock alerts: GET /api/v1/admin/alerts?status=open|resolved|all.
import { Elysia } from 'elysia'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { AlertListQuery, pageLimit, StockAlertPage } from './model'
import { listAlerts } from './service'

export const alertsModule = new Elysia({ name: 'alerts', tags: ['admin'] }).use(authPlugin).get(
  '/admin/alerts',
  async ({ query }) => {
    const page = await listAlerts({
      status: query.status === 'all' ? undefined : query.status,
      productId: query.productId,
      limit: pageLimit(query.limit),
      cursor: query.cursor,
    })
    return {
      items: page.items.map((a) => ({
        id: a.id,
        productId: a.productId,
        status: a.resolvedAt ? ('resolved' as const) : ('open' as const),
        availableAtOpen: a.availableAtOpen,
        reorderPoint: a.reorderPoint,
        source: a.source,
        openedAt: a.openedAt.toISOString(),
        resolvedAt: a.resolvedAt?.toISOString() ?? null,
        availableAtResolve: a.availableAtResolve,
      })),
      nextCursor: page.nextCursor,
    }
  },
  {
    auth: 'admin',
    query: AlertListQuery,
    response: { 200: StockAlertPage, ...problems(401, 403, 422) },
    detail: { tags: ['admin'], summary: 'Low-stock alerts (one open per product), newest first' },
  },
)
