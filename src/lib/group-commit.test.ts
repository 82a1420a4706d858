// GroupCommit, pure: items of one key arriving together are flushed together, bounded by maxBatch
// and maxInflight; keys do not mix; a flush that throws rejects its unsettled items.
import { describe, expect, test } from 'bun:test'
import { GroupCommit, type GroupItem } from './group-commit'

type T = { n: number }

describe('GroupCommit', () => {
  test('items of one key queued while a batch runs go together; keys never mix', async () => {
    const seen: [string, number[]][] = []
    const g = new GroupCommit<T>({
      windowMs: 1,
      maxBatch: 64,
      maxInflight: 1,
      flush: async (key, items: GroupItem<T>[]) => {
        seen.push([key, items.map((i) => i.n)])
        await Bun.sleep(5)
        for (const i of items) i.resolve()
      },
    })
    await Promise.all([...Array.from({ length: 10 }, (_, n) => g.add('a', { n })), g.add('b', { n: 99 })])
    expect(seen.filter(([k]) => k === 'b')).toEqual([['b', [99]]])
    expect(seen.filter(([k]) => k === 'a').flatMap(([, ns]) => ns)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  })
  test('maxBatch bounds a batch; a flush that throws rejects its items', async () => {
    const sizes: number[] = []
    const g = new GroupCommit<T>({
      windowMs: 1,
      maxBatch: 3,
      maxInflight: 2,
      flush: async (_key, items) => {
        sizes.push(items.length)
        if (items.some((i) => i.n === 4)) throw new Error('boom')
        for (const i of items) i.resolve()
      },
    })
    const results = await Promise.allSettled(Array.from({ length: 7 }, (_, n) => g.add('k', { n })))
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3)
    expect(sizes.reduce((s, n) => s + n, 0)).toBe(7)
    const rejected = results.flatMap((r, n) => (r.status === 'rejected' ? [n] : []))
    expect(rejected).toContain(4)
    for (const n of rejected) expect((results[n] as PromiseRejectedResult).reason.message).toBe('boom')
  })
})
