// The one guard that owns the inventory invariants on the way in. Every write path (reserve,
// commit, release, expire, restock, create) normalizes its input here; the database CHECK
// constraints (on_hand ≥ 0, reserved ≥ 0, reserved ≤ on_hand, quantity > 0) are the final fence
// behind it, so a bug that slips past this function still cannot oversell.
import type { MovementKind } from '../../../db/schema'
import { ValidationProblem } from '../../lib/errors'
import { isUuid } from '../../lib/uuid'

import { MAX_LINE_QUANTITY, MAX_ORDER_LINES, MAX_RESTOCK_QUANTITY, type StockLine } from './model'

export type { StockLine } from './model'

/** What a change is: the ledger's kinds that a caller can ask for, and `create` (a new product's row). */
export type StockChange = Exclude<MovementKind, 'adjust'> | 'create'

function checkQuantity(field: string, q: unknown, max: number): number {
  if (typeof q !== 'number' || !Number.isInteger(q)) throw ValidationProblem.field(field, 'must be an integer')
  if (q < 1) throw ValidationProblem.field(field, 'must be ≥ 1')
  if (q > max) throw ValidationProblem.field(field, `must be at most ${max}`)
  return q
}

/**
 * Validates and normalizes the lines of a stock change: product ids are UUIDs, quantities are
 * positive integers within the kind's bound (model.ts), duplicate products are merged
 * (re-checked after merging), and lines come back sorted by product id — the global lock order
 * that keeps multi-product transactions deadlock-free.
 */
export function guardStockChange(kind: StockChange, lines: readonly StockLine[], field = 'items'): StockLine[] {
  if (!Array.isArray(lines) || lines.length === 0) throw ValidationProblem.field(field, 'must contain at least one line')
  if (lines.length > MAX_ORDER_LINES) throw ValidationProblem.field(field, `must contain at most ${MAX_ORDER_LINES} lines`)
  // A sale's pool moves a drop's units at once (pool.ts), bounded like a restock.
  const max = kind === 'restock' || kind === 'create' || kind === 'pool' ? MAX_RESTOCK_QUANTITY : MAX_LINE_QUANTITY
  const merged = new Map<string, number>()
  lines.forEach((l, i) => {
    if (!isUuid(l?.productId)) throw ValidationProblem.field(`${field}.${i}.productId`, 'must be a UUID')
    if (kind === 'create' && l.quantity === 0) {
      merged.set(l.productId, 0)
      return
    }
    const q = checkQuantity(`${field}.${i}.quantity`, l.quantity, max)
    merged.set(l.productId.toLowerCase(), (merged.get(l.productId.toLowerCase()) ?? 0) + q)
  })
  const out = [...merged].map(([productId, quantity]) => ({ productId, quantity }))
  out.forEach((l, i) => {
    if (l.quantity > max) throw ValidationProblem.field(`${field}.${i}.quantity`, `must be at most ${max} after merging duplicate lines`)
  })
  return out.sort((a, b) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0))
}
