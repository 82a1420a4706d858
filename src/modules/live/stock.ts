// stock.changed on the admin feed, from inventory's announcements (onStockChange): inventory
// imports no listener; this one returns at once (the announcer awaits listeners before answering
// its buyer) and publishes at most every STOCK_COALESCE_MS one message naming every product that
// changed meanwhile, with its availability — a sale that sells 1,000 units a second is 4 messages.
import { db } from '../../infra/db'
import { logger } from '../../infra/logger'
import { availableByProductIds, onStockChange } from '../inventory/service'
import { publishLive } from './bus'

export const STOCK_COALESCE_MS = 250
const pending = new Set<string>()
let timer: Timer | null = null
let registered = false

async function flush(): Promise<void> {
  timer = null
  const ids = [...pending]
  pending.clear()
  if (ids.length === 0) return
  try {
    const available = await availableByProductIds(db, ids)
    await publishLive('stock.changed', { products: ids.map((productId) => ({ productId, available: available.get(productId) ?? null })) })
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'stock.changed not published')
  }
}

/** Registers the listener once per process (API processes: src/modules/live/service.ts). */
export function watchStockChanges(): void {
  if (registered) return
  registered = true
  onStockChange((productIds) => {
    for (const id of productIds) pending.add(id)
    if (!timer) timer = setTimeout(() => void flush(), STOCK_COALESCE_MS)
  })
}
