// The inventory guard, a pure function: the one line bound, merging, ordering, UUIDs.
import { describe, expect, test } from 'bun:test'
import { guardStockChange } from './guard'
import { MAX_LINE_QUANTITY, MAX_ORDER_LINES, MAX_RESTOCK_QUANTITY } from './model'

const A = '01900000-0000-7000-8000-00000000000a'
const B = '01900000-0000-7000-8000-00000000000b'
const fieldOf = (fn: () => unknown) => {
  try {
    fn()
  } catch (e) {
    return (e as { extra?: { errors?: { field: string; message: string }[] } }).extra?.errors?.[0]
  }
  return undefined
}

describe('guardStockChange', () => {
  test('merges duplicate products and sorts by product id (the lock order)', () => {
    const out = guardStockChange('reserve', [
      { productId: B, quantity: 1 },
      { productId: A, quantity: 2 },
      { productId: B.toUpperCase(), quantity: 3 },
    ])
    expect(out).toEqual([
      { productId: A, quantity: 2 },
      { productId: B, quantity: 4 },
    ])
  })
  test('a reserve line is bounded by the one order bound, before and after merging', () => {
    expect(guardStockChange('reserve', [{ productId: A, quantity: MAX_LINE_QUANTITY }])).toHaveLength(1)
    expect(fieldOf(() => guardStockChange('reserve', [{ productId: A, quantity: MAX_LINE_QUANTITY + 1 }]))).toEqual({
      field: 'items.0.quantity',
      message: `must be at most ${MAX_LINE_QUANTITY}`,
    })
    const half = Math.ceil((MAX_LINE_QUANTITY + 1) / 2)
    expect(
      fieldOf(() =>
        guardStockChange('reserve', [
          { productId: A, quantity: half },
          { productId: A, quantity: half },
        ]),
      )?.message,
    ).toBe(`must be at most ${MAX_LINE_QUANTITY} after merging duplicate lines`)
  })
  test('at most MAX_ORDER_LINES lines; at least one', () => {
    const many = Array.from({ length: MAX_ORDER_LINES + 1 }, (_, i) => ({
      productId: `01900000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
      quantity: 1,
    }))
    expect(fieldOf(() => guardStockChange('reserve', many))?.message).toBe(`must contain at most ${MAX_ORDER_LINES} lines`)
    expect(fieldOf(() => guardStockChange('reserve', []))?.message).toBe('must contain at least one line')
  })
  test('restock has its own, larger bound; quantities are positive integers; ids are UUIDs', () => {
    expect(guardStockChange('restock', [{ productId: A, quantity: MAX_RESTOCK_QUANTITY }], 'body')).toHaveLength(1)
    for (const quantity of [0, -1, 1.5, Number.NaN]) {
      expect(fieldOf(() => guardStockChange('reserve', [{ productId: A, quantity }]))?.field).toBe('items.0.quantity')
    }
    expect(fieldOf(() => guardStockChange('reserve', [{ productId: 'nope', quantity: 1 }]))?.field).toBe('items.0.productId')
  })
})
