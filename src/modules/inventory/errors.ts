// Inventory's domain errors (mapped to problem+json by the errors plugin).
import { ConflictError, NotFoundError } from '../../lib/errors'

/** 409 out_of_stock naming the products that lack stock. */
export class OutOfStockError extends ConflictError {
  /** `verifyKey`: the checkout door's refusal stands only if the request's key is not held. */
  constructor(
    readonly productIds: string[],
    readonly verifyKey = false,
  ) {
    super(`Not enough stock for ${productIds.join(', ')}`, 'out_of_stock', { productIds })
  }
}

/** 409 contention: optimistic retries exhausted; the client may retry. */
export class ContentionError extends ConflictError {
  constructor(productIds: string[]) {
    super(`Too many concurrent updates of ${productIds.join(', ')}; please retry`, 'contention', { productIds })
  }
}

export class ProductInventoryNotFound extends NotFoundError {
  constructor(productId: string) {
    super('Product', `Product ${productId} not found`)
  }
}
