// Product cache (cache-aside under `product:{id}`). Writers elsewhere (inventory, reviews) call
// invalidateProduct after their change commits, before their response returns.
import { key, withRedis } from '../../infra/redis'

export async function invalidateProduct(...productIds: string[]): Promise<void> {
  if (productIds.length === 0) return
  await withRedis(
    (r) => r.unlink(...productIds.map((id) => key('product', id))),
    () => 0,
  )
}
