// Admin view of alerts: low stock (GET /api/v1/admin/alerts?status=open|resolved|all) and the
// others, e.g. risk reviews (GET /api/v1/admin/alerts/general?type=risk_review).
import { Elysia } from 'elysia'
import { db } from '../../infra/db'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { listGeneralAlerts } from './general'
import { AlertListQuery, GeneralAlertListQuery, GeneralAlertPage, pageLimit, StockAlertPage } from './model'
import { listAlerts } from './service'

export const alertsModule = new Elysia({ name: 'alerts', tags: ['admin'] })
  .use(authPlugin)
  .get(
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
  .get(
    '/admin/alerts/general',
    async ({ query }) => {
      const page = await listGeneralAlerts(db, {
        type: query.type,
        status: query.status === 'all' ? undefined : query.status,
        limit: pageLimit(query.limit),
        cursor: query.cursor,
      })
      return {
        items: page.items.map((a) => ({
          id: a.id,
          type: a.type,
          severity: a.severity,
          subjectId: a.subjectId,
          message: a.message,
          details: a.details,
          status: a.resolvedAt ? ('resolved' as const) : ('open' as const),
          createdAt: a.createdAt.toISOString(),
          resolvedAt: a.resolvedAt?.toISOString() ?? null,
        })),
        nextCursor: page.nextCursor,
      }
    },
    {
      auth: 'admin',
      query: GeneralAlertListQuery,
      response: { 200: GeneralAlertPage, ...problems(401, 403, 422) },
      detail: { tags: ['admin'], summary: 'Other alerts (risk reviews, …), newest first; filter by type and status' },
    },
  )
