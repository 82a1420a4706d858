// One payment attempt as other modules may know it (risk re-scoring reads the method through here).
import { eq } from 'drizzle-orm'
import { payments } from '../../../db/schema'
import { db } from '../../infra/db'

export async function paymentFacts(paymentId: string): Promise<{ orderId: string; method: string; updatedAt: Date } | null> {
  const [p] = await db
    .select({ orderId: payments.orderId, method: payments.method, updatedAt: payments.updatedAt })
    .from(payments)
    .where(eq(payments.id, paymentId))
  return p ?? null
}
