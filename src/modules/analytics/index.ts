// Sales analytics for admins: overview, sales series, top products, categories, customer purchase
// patterns, inventory, CSV exports. Figures come from the rollups (rollup.ts), cached per window.
import { Elysia, t } from 'elysia'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { customerReport } from './customers'
import { ordersCsv, salesCsv } from './export'
import {
  CategoriesQuery,
  CategorySales,
  CustomerReport,
  CustomersQuery,
  ExportQuery,
  InventoryQuery,
  InventoryReport,
  limitOf,
  Overview,
  OverviewQuery,
  SalesQuery,
  SalesSeries,
  TopProducts,
  TopProductsQuery,
} from './model'
import { categorySales, checkTz, inventoryReport, overview, parseRange, salesSeries, topProducts } from './service'

/** Documented as text/csv (detail.responses); the handler returns a streamed Response. */
const CsvBody = t.String({ description: 'RFC 4180 CSV (CRLF line ends, header row), streamed' })

const csvDoc = (summary: string) => ({
  tags: ['admin'],
  summary,
  responses: {
    200: {
      description: 'RFC 4180 CSV (CRLF line ends, header row), streamed',
      content: { 'text/csv': { schema: { type: 'string' as const } } },
    },
  },
})

function csvResponse(name: string, from: Date, to: Date, body: ReadableStream<Uint8Array>): Response {
  const stamp = (d: Date) => d.toISOString().replace(/[:.]/g, '-')
  return new Response(body, {
    headers: {
      'content-type': 'text/csv; charset=utf-8; header=present',
      'content-disposition': `attachment; filename="${name}-${stamp(from)}-${stamp(to)}.csv"`,
      'cache-control': 'no-store',
    },
  })
}

export const analyticsModule = new Elysia({ name: 'analytics', prefix: '/admin/analytics', tags: ['admin'] })
  .use(authPlugin)
  .get('/overview', async ({ query }) => overview(query.window ?? '24h', await checkTz(query.tz)), {
    auth: 'admin',
    query: OverviewQuery,
    response: { 200: Overview, ...problems(401, 403, 422) },
    detail: {
      tags: ['admin'],
      summary: 'Revenue, orders, units, customers, refunds and cancellations of a window, with the previous window',
    },
  })
  .get(
    '/sales',
    async ({ query }) => {
      const tz = await checkTz(query.tz)
      const granularity = query.granularity ?? 'hour'
      const { from, to } = await parseRange(query.from, query.to, tz, granularity === 'hour' ? 1 : 30)
      const items = await salesSeries(granularity, from, to, tz)
      return { granularity, tz, from: from.toISOString(), to: to.toISOString(), items }
    },
    {
      auth: 'admin',
      query: SalesQuery,
      response: { 200: SalesSeries, ...problems(401, 403, 422) },
      detail: { tags: ['admin'], summary: 'Zero-filled sales series (revenue, orders, units) by local hour or day' },
    },
  )
  .get(
    '/top-products',
    async ({ query }) => topProducts(query.window ?? '24h', query.by ?? 'revenue', limitOf(query.limit, 10), await checkTz(query.tz)),
    {
      auth: 'admin',
      query: TopProductsQuery,
      response: { 200: TopProducts, ...problems(401, 403, 422) },
      detail: { tags: ['admin'], summary: 'Best-selling products of a window by revenue or units' },
    },
  )
  .get('/categories', async ({ query }) => categorySales(query.window ?? '24h', await checkTz(query.tz)), {
    auth: 'admin',
    query: CategoriesQuery,
    response: { 200: CategorySales, ...problems(401, 403, 422) },
    detail: { tags: ['admin'], summary: 'Revenue by category, own and subtree totals' },
  })
  .get('/customers', async ({ query }) => customerReport(query.window ?? '30d', limitOf(query.limit, 10), await checkTz(query.tz)), {
    auth: 'admin',
    query: CustomersQuery,
    response: { 200: CustomerReport, ...problems(401, 403, 422) },
    detail: { tags: ['admin'], summary: 'Customer purchase patterns: top customers, frequency, distribution of order counts' },
  })
  .get('/inventory', ({ query }) => inventoryReport(limitOf(query.limit, 100)), {
    auth: 'admin',
    query: InventoryQuery,
    response: { 200: InventoryReport, ...problems(401, 403, 422) },
    detail: { tags: ['admin'], summary: 'Low-stock list with days of cover, and stock value' },
  })
  .get(
    '/export/orders.csv',
    async ({ query }) => {
      const tz = await checkTz(query.tz)
      const { from, to } = await parseRange(query.from, query.to, tz, 30)
      return csvResponse('orders', from, to, ordersCsv(from, to))
    },
    {
      auth: 'admin',
      query: ExportQuery,
      response: { 200: CsvBody, ...problems(401, 403, 422) },
      detail: csvDoc('Orders placed in [from, to) as CSV'),
    },
  )
  .get(
    '/export/sales.csv',
    async ({ query }) => {
      const tz = await checkTz(query.tz)
      const { from, to } = await parseRange(query.from, query.to, tz, 30)
      return csvResponse('sales', from, to, salesCsv(from, to))
    },
    {
      auth: 'admin',
      query: ExportQuery,
      response: { 200: CsvBody, ...problems(401, 403, 422) },
      detail: csvDoc('Sold order lines (paid orders placed in [from, to)) as CSV'),
    },
  )
