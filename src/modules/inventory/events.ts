// Inventory announces stock changes; it imports none of the modules that care (catalog's product
// cache today, the sale, search and analytics modules tomorrow). A listener registers once at load
// (onStockChange) and is awaited: a caller that announces after its commit answers its client only
// once every listener has seen the change (the product cache no longer shows the old stock).
type StockListener = (productIds: string[]) => Promise<unknown> | unknown

const listeners: StockListener[] = []

/** Registers a listener for "the stock of these products changed (committed or about to)". */
export function onStockChange(listener: StockListener): void {
  listeners.push(listener)
}

/** Tells every listener; a failing listener is its own business (it must not fail the sale). */
export async function announceStockChange(productIds: string[]): Promise<void> {
  if (productIds.length === 0 || listeners.length === 0) return
  await Promise.all(
    listeners.map((l) =>
      Promise.resolve()
        .then(() => l(productIds))
        .catch(() => {}),
    ),
  )
}
