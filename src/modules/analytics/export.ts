// Streamed CSV exports. A pull-based stream: the next page is read only when the client has taken
// the previous one, so memory stays one page (PAGE orders) whatever the row count, and a slow
// client slows the export instead of buffering it. Pages are keyset reads over the analytics facts
// ((created_at, order_id) index): each a short statement, no cursor or connection held between
// pages. RFC 4180 quoting and CRLF line ends by csv-stringify.
import { stringify } from 'csv-stringify/sync'
import { sql } from '../../infra/db'
import { asDate } from './service'

const PAGE = 2000
const FORMAT = { record_delimiter: 'windows' } as const
type Key = { at: Date; id: string }

function csvStream<R extends { orderAt: Date; orderId: string }>(
  header: string[],
  page: (after: Key | null) => Promise<R[]>,
  toRecord: (r: R) => unknown[] | null,
): ReadableStream<Uint8Array> {
  const enc = new TextEncoder()
  let after: Key | null = null
  let started = false
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!started) {
          started = true
          controller.enqueue(enc.encode(stringify([header], FORMAT)))
          return
        }
        // Loop until a page yields records: a pull that enqueues nothing would not be called again.
        for (;;) {
          const rows = await page(after)
          if (rows.length === 0) return controller.close()
          const last = rows[rows.length - 1] as R
          after = { at: asDate(last.orderAt), id: last.orderId }
          const records = rows.map(toRecord).filter((r): r is unknown[] => r !== null)
          if (records.length === 0) continue
          return controller.enqueue(enc.encode(stringify(records, FORMAT)))
        }
      },
    },
    { highWaterMark: 1 },
  )
}

const keyset = (after: Key | null) => (after ? sql`and (f.created_at, f.order_id) > (${after.at.toISOString()}, ${after.id})` : sql``)

/** Every order placed in [from, to): one row per order. */
export function ordersCsv(from: Date, to: Date): ReadableStream<Uint8Array> {
  type R = { orderId: string; userId: string; status: string; totalCents: string; currency: string; orderAt: Date; updatedAt: Date }
  return csvStream<R>(
    ['order_id', 'user_id', 'status', 'total_cents', 'currency', 'created_at', 'updated_at'],
    (after) => sql<R[]>`
      select f.order_id as "orderId", f.user_id as "userId", o.status, o.total_cents as "totalCents", o.currency,
             f.created_at as "orderAt", o.updated_at as "updatedAt"
      from analytics_order_facts f join orders o on o.id = f.order_id
      where f.created_at >= ${from.toISOString()} and f.created_at < ${to.toISOString()} ${keyset(after)}
      order by f.created_at, f.order_id limit ${PAGE}`,
    (r) => [r.orderId, r.userId, r.status, r.totalCents, r.currency, asDate(r.orderAt).toISOString(), asDate(r.updatedAt).toISOString()],
  )
}

/** Every sold line (paid orders, gross) of orders placed in [from, to): one row per order line. */
export function salesCsv(from: Date, to: Date): ReadableStream<Uint8Array> {
  type R = { orderId: string; orderAt: Date; productId: string; name: string; quantity: number; unitPriceCents: number; status: string }
  return csvStream<R>(
    ['order_id', 'created_at', 'product_id', 'product_name', 'quantity', 'unit_price_cents', 'line_total_cents', 'order_status'],
    async (after) => {
      // Page by orders, then their lines, so a page boundary never splits an order.
      const orders = await sql<{ orderId: string; orderAt: Date }[]>`
        select f.order_id as "orderId", f.created_at as "orderAt" from analytics_order_facts f
        where f.paid and f.created_at >= ${from.toISOString()} and f.created_at < ${to.toISOString()} ${keyset(after)}
        order by f.created_at, f.order_id limit ${PAGE}`
      if (orders.length === 0) return []
      const lines = await sql<R[]>`
        select f.order_id as "orderId", f.created_at as "orderAt", i.product_id as "productId", p.name, i.quantity,
               i.unit_price_cents as "unitPriceCents", o.status
        from analytics_order_facts f join order_items i on i.order_id = f.order_id join products p on p.id = i.product_id
          join orders o on o.id = f.order_id
        where f.order_id = any(${orders.map((o) => o.orderId)}::uuid[])
        order by f.created_at, f.order_id, i.product_id`
      // The keyset continues after the page's last ORDER even if (bad data) it had no lines.
      const last = orders[orders.length - 1] as { orderId: string; orderAt: Date }
      const marker = lines.at(-1)
      if (!marker || marker.orderId !== last.orderId)
        lines.push({ ...last, productId: '', name: '', quantity: 0, unitPriceCents: 0, status: '' })
      return lines
    },
    (r) =>
      r.productId === ''
        ? null
        : [
            r.orderId,
            asDate(r.orderAt).toISOString(),
            r.productId,
            r.name,
            r.quantity,
            r.unitPriceCents,
            r.quantity * r.unitPriceCents,
            r.status,
          ],
  )
}
