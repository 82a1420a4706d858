import { describe, expect, test } from 'bun:test'
import { mulberry32 } from '../../db/seed/prng'
import { scoreAll, topN } from '../../src/lib/ml/dense'
import { fitAls } from './als'

// Planted block structure: users 0..29 like items 0..19, users 30..59 like items 20..39. Each user
// saw a random 40 % of their block (purchases weigh 1, a few clicks 0.2). ALS must rank the unseen
// items of the user's own block above every item of the other block.
function planted(seed: number) {
  const rand = mulberry32(seed)
  const u: number[] = []
  const i: number[] = []
  const w: number[] = []
  const seen = new Set<string>()
  for (let user = 0; user < 60; user++) {
    const base = user < 30 ? 0 : 20
    for (let item = base; item < base + 20; item++) {
      if (rand() < 0.4) {
        u.push(user)
        i.push(item)
        w.push(rand() < 0.8 ? 1 : 0.2)
        seen.add(`${user}:${item}`)
      }
    }
  }
  return { data: { users: 60, items: 40, u: Uint32Array.from(u), i: Uint32Array.from(i), w: Float32Array.from(w) }, seen }
}

describe('implicit ALS', () => {
  test('recovers a planted two-block structure', () => {
    const { data, seen } = planted(7)
    const f = fitAls(data, { factors: 4, iterations: 15, regularization: 0.5, alpha: 20, cgSteps: 3 })
    let inBlock = 0
    let total = 0
    for (let user = 0; user < 60; user++) {
      const x = f.X.subarray(user * 4, user * 4 + 4)
      const top = topN(scoreAll(x, f.Y, 4), 5, (item) => seen.has(`${user}:${item}`))
      const lo = user < 30 ? 0 : 20
      for (const item of top) if (item >= lo && item < lo + 20) inBlock++
      total += top.length
    }
    expect(total).toBe(300)
    expect(inBlock / total).toBeGreaterThanOrEqual(0.98)
  })

  test('duplicate interactions add confidence rather than breaking the solve', () => {
    const data = {
      users: 2,
      items: 3,
      u: Uint32Array.from([0, 0, 0, 1]),
      i: Uint32Array.from([0, 0, 1, 2]),
      w: Float32Array.from([1, 1, 1, 1]),
    }
    const f = fitAls(data, { factors: 2, iterations: 5, regularization: 0.1, alpha: 5, cgSteps: 2 })
    const s = scoreAll(f.X.subarray(0, 2), f.Y, 2)
    expect(Number.isFinite(s[0])).toBe(true)
    expect(s[0]).toBeGreaterThan(s[2] as number)
  })
})
