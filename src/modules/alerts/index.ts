// The admin alert list: GET /api/v1/admin/alerts?status=open|resolved|all&kind=…&severity=… —
// low-stock alerts and the alerts planning raises (stock-out risk, overdue orders, suppliers); and
// the other alerts, e.g. risk reviews (GET /api/v1/admin/alerts/general?type=risk_review).
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
        kind: query.kind,
        severity: query.severity,
        productId: query.productId,
        limit: pageLimit(query.limit),
        cursor: query.cursor,
      })
      return {
        items: page.items.map((a) => ({
          id: a.id,
          kind: a.kind,
          severity: a.severity,
          subjectId: a.subjectId,
          productId: a.productId,
          status: a.resolvedAt ? ('resolved' as const) : ('open' as const),
          message: a.message,
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
      detail: {
        tags: ['admin'],
        summary:
          'Alerts, newest first: low stock (one open per product), projected stock-outs before the lead time, overdue purchase orders, supplier reliability falling',
      },
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
