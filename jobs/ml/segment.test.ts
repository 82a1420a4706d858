import { describe, expect, test } from 'bun:test'
import { mulberry32 } from '../../db/seed/prng'
import { fitSegments, type Rfm, silhouette } from './segment'

// Three planted customer groups: lapsed one-timers, regular mid spenders, recent big spenders.
function planted(n: number, seed: number): { rows: Rfm[]; truth: number[] } {
  const rand = mulberry32(seed)
  const jitter = (x: number, f = 0.25) => x * (1 + (rand() - 0.5) * f)
  const rows: Rfm[] = []
  const truth: number[] = []
  for (let i = 0; i < n; i++) {
    const g = i % 3
    truth.push(g)
    if (g === 0) rows.push({ recencyDays: jitter(300), orders: 1, monetaryCents: jitter(2_000) })
    else if (g === 1) rows.push({ recencyDays: jitter(60), orders: Math.round(jitter(5)), monetaryCents: jitter(30_000) })
    else rows.push({ recencyDays: jitter(5), orders: Math.round(jitter(25)), monetaryCents: jitter(400_000) })
  }
  return { rows, truth }
}

describe('customer segments (K-Means + silhouette)', () => {
  test('picks k = 3 and separates the planted groups exactly', () => {
    const { rows, truth } = planted(300, 3)
    const fit = fitSegments(rows, { kMin: 2, kMax: 6, silhouetteSample: 300 })
    expect(fit.k).toBe(3)
    // Every planted group maps to exactly one cluster and vice versa.
    const pairs = new Set(truth.map((g, i) => `${g}:${fit.labels[i]}`))
    expect(pairs.size).toBe(3)
    expect(fit.sizes.sort()).toEqual([100, 100, 100])
    // The big spenders' centroid is the most recent and the highest spend.
    const big = fit.labels[2] as number
    const c = fit.centroids[big] as Rfm
    expect(c.monetaryCents).toBe(Math.max(...fit.centroids.map((x) => x.monetaryCents)))
    expect(c.recencyDays).toBe(Math.min(...fit.centroids.map((x) => x.recencyDays)))
  })

  test('silhouette: 1 for far, tight clusters; lower when they overlap', () => {
    const tight = [
      [0, 0],
      [0, 0.1],
      [10, 10],
      [10, 10.1],
    ]
    expect(silhouette(tight, [0, 0, 1, 1], 2)).toBeGreaterThan(0.98)
    expect(silhouette(tight, [0, 1, 0, 1], 2)).toBeLessThan(0)
  })

  test('refuses fewer than two customers', () => {
    expect(() => fitSegments([{ recencyDays: 1, orders: 1, monetaryCents: 1 }], { kMin: 2, kMax: 4, silhouetteSample: 10 })).toThrow()
  })
})
