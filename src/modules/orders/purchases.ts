// hasPurchased: does this user have a paid order containing this product? (Used by catalog reviews
// for `verifiedPurchase`.) Owned by the orders module; this version queries `orders` and
// `order_items` and answers false while those tables do not exist yet (the lead reconciles at merge).
import { sql } from 'drizzle-orm'
import type { DbOrTx } from '../../infra/db'

/** Order statuses that mean the customer paid for the goods. */
export const PURCHASED_STATUSES = ['paid', 'fulfilled', 'shipped', 'delivered', 'completed'] as const

export async function hasPurchased(tx: DbOrTx, userId: string, productId: string): Promise<boolean> {
  // Checked first so a missing table never aborts the caller's transaction with an error.
  const [exists] = await tx.execute<{ ok: boolean }>(
    sql`select to_regclass('orders') is not null and to_regclass('order_items') is not null as ok`,
  )
  if (!exists?.ok) return false
  const statuses = sql.join(
    PURCHASED_STATUSES.map((s) => sql`${s}`),
    sql`, `,
  )
  const rows = await tx.execute(sql`
    select 1 from orders o join order_items oi on oi.order_id = o.id
    where o.user_id = ${userId} and oi.product_id = ${productId} and o.status in (${statuses})
    limit 1`)
  return rows.length > 0
}
