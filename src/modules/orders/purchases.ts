// "Did this user buy this product?" — for verified reviews (catalog module). Paid or any later
// fulfilment state counts; cancelled, expired, failed and refunded orders do not.
import { sql } from 'drizzle-orm'
import { COMPLETED_ORDER_STATUSES } from '../../../db/schema'
import type { DbOrTx } from '../../infra/db'

export async function hasPurchased(tx: DbOrTx, userId: string, productId: string): Promise<boolean> {
  const rows = await tx.execute<{ bought: boolean }>(sql`
    select exists (
      select 1 from order_items i join orders o on o.id = i.order_id
      where i.product_id = ${productId} and o.user_id = ${userId}
        and o.status in (${sql.join(
          COMPLETED_ORDER_STATUSES.map((st) => sql`${st}`),
          sql`, `,
        )})
    ) as bought`)
  return Boolean((rows as unknown as { bought: boolean }[])[0]?.bought)
}
