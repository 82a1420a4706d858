// Forecast methods and reorder arithmetic on small fixed series, against values computed by hand
// (the working is in the comments) and against a published worked example (linear Holt, NAG).
import { describe, expect, test } from 'bun:test'
import {
  chooseMethod,
  croston,
  forecastSeries,
  type HwState,
  hwFilter,
  hwPoint,
  type Obs,
  score,
  seasonalNaivePoint,
  serviceZ,
} from './forecast'
import { bigSaleUnits, planQuantity, replanLevel } from './reorder-point'

describe('Croston / SBA', () => {
  test('y = 0 3 0 0 5, α = 0.1: z = 3.2, p = 2.1, forecast 0.95 × 3.2 / 2.1', () => {
    // First demand 3 after an interval of 2 → z = 3, p = 2. Then 5 after 3 days:
    // z = 3 + 0.1 (5 − 3) = 3.2, p = 2 + 0.1 (3 − 2) = 2.1; SBA factor 1 − 0.1/2 = 0.95.
    const { forecasts, final } = croston([0, 3, 0, 0, 5], 0.1)
    expect(final).toBeCloseTo((0.95 * 3.2) / 2.1, 12)
    // 0.95 × 3 / 2 after the first demand
    for (const [i, v] of [0, 0, 1.425, 1.425, 1.425].entries()) expect(forecasts[i] as number).toBeCloseTo(v, 12)
  })
  test('a stock-out day is neither demand nor an interval tick', () => {
    // y = 0 3 – 0 5: the interval to the 5 is 2 days, not 3 → p = 2 + 0.1 (2 − 2) = 2.
    expect(croston([0, 3, null, 0, 5], 0.1).final).toBeCloseTo(0.95 * (3.2 / 2), 12)
  })
})

describe('Holt-Winters (additive, damped)', () => {
  test('one update by hand', () => {
    // y = 1..14, m = 7: l0 = mean(1..7) = 4, b0 = (mean(8..14) − 4) / 7 = 1, s = −3..3.
    // t = 0: ŷ = 4 + 1 − 3 = 2; y = 1.
    // l = 0.5 (1 + 3) + 0.5 (4 + 1) = 4.5; b = 0.1 (4.5 − 4) + 0.9 × 1 = 0.95;
    // s0 = 0.2 (1 − 4 − 1) + 0.8 × (−3) = −3.2.
    const y = Array.from({ length: 14 }, (_, i) => i + 1)
    const st = hwFilter(y, { alpha: 0.5, beta: 0.1, gamma: 0.2, phi: 1 }).states[1]
    expect(st?.l).toBeCloseTo(4.5, 12)
    expect(st?.b).toBeCloseTo(0.95, 12)
    expect(st?.s[0]).toBeCloseTo(-3.2, 12)
  })
  test('a noiseless weekly pattern is forecast exactly, whatever the parameters', () => {
    const week = [10, 12, 14, 10, 12, 30, 25]
    const y = Array.from({ length: 70 }, (_, i) => week[i % 7] as number)
    const f = forecastSeries(y, 14, 'holt-winters')
    f.points.forEach((p, k) => {
      expect(p.value).toBeCloseTo(week[(70 + k) % 7] as number, 6)
      expect(p.lower80).toBeLessThanOrEqual(p.value)
      expect(p.upper95).toBeGreaterThanOrEqual(p.upper80)
    })
  })
  test('a stock-out at the end does not drag the forecast to zero', () => {
    const y: Obs[] = Array.from({ length: 84 }, (_, i) => 20 + ((i * 7) % 5) - 2)
    const out = y.map((v, i) => (i >= 74 ? null : v))
    const zero = y.map((v, i) => (i >= 74 ? 0 : v))
    const avg = (ps: { value: number }[]) => ps.reduce((a, p) => a + p.value, 0) / ps.length
    expect(avg(forecastSeries(out, 28).points)).toBeGreaterThan(18)
    expect(avg(forecastSeries(zero, 28, 'holt-winters').points)).toBeLessThan(12)
  })
})

describe('seasonal naive and method choice', () => {
  test('same weekday last week; the week before when that day was a stock-out', () => {
    const y: Obs[] = Array.from({ length: 14 }, (_, i) => i + 1)
    expect([1, 2, 3].map((k) => seasonalNaivePoint(y, 14, k))).toEqual([8, 9, 10])
    y[7] = null
    expect(seasonalNaivePoint(y, 14, 1)).toBe(1)
  })
  test('short → seasonal naive, sparse → Croston/SBA, regular → Holt-Winters', () => {
    expect(chooseMethod([1, 2, 3, 4, 5, 6, 7, 8])).toBe('seasonal-naive')
    expect(chooseMethod(Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? 2 : 0)))).toBe('croston-sba')
    expect(chooseMethod(Array.from({ length: 60 }, (_, i) => 5 + (i % 7)))).toBe('holt-winters')
  })
  test('MASE: absolute error over the in-sample seasonal naive error', () => {
    // train: 0..13 → |y_t − y_{t−7}| = 7 each → scale 7; errors 7 and 0 → MAE 3.5 → MASE 0.5.
    const train = Array.from({ length: 14 }, (_, i) => i)
    const band = (v: number) => ({ value: v, lower80: v - 1, upper80: v + 1, lower95: v - 2, upper95: v + 2 })
    const s = score(train, [7, 20], [band(14), band(20)])
    expect(s.mase).toBeCloseTo(0.5, 12)
    expect(s.coverage80).toBe(0.5)
  })
})

describe('reorder arithmetic', () => {
  test('lead-time demand + z·σ·√L, up to the target level, rounded to MOQ and packs', () => {
    // L = 4: demand 40; safety 1.645 × 4 × 2 = 13.15 → reorder point 54. Position 30 + 5 = 35 ≤ 54.
    // Target 54 + 14 × 10 = 194 → 159 → packs of 12 → 168. 30 units last 3 days → stock-out day 3.
    const plan = planQuantity({
      forecast: new Array(28).fill(10),
      sigma: 4,
      leadTime: 4,
      serviceLevel: 0.95,
      manualReorderPoint: 10,
      available: 30,
      onOrder: 5,
      moq: 50,
      packSize: 12,
    })
    // simple-statistics' probit is a table approximation: 1.6434 for the exact 1.6449 (0.1 %).
    expect(serviceZ(0.95)).toBeCloseTo(1.645, 2)
    expect(plan.reorderPoint).toBe(54)
    expect(plan.safetyStock).toBeCloseTo(serviceZ(0.95) * 8, 9)
    expect(plan.quantity).toBe(168)
    expect(plan.stockoutDay).toBe(3)
  })
  test('no history: the manual reorder point still triggers; MOQ wins over a small need', () => {
    const base = {
      forecast: new Array(28).fill(0),
      sigma: 0,
      leadTime: 7,
      serviceLevel: 0.95,
      manualReorderPoint: 10,
      onOrder: 0,
      packSize: 1,
    }
    expect(planQuantity({ ...base, available: 8, moq: 1 }).quantity).toBe(2)
    expect(planQuantity({ ...base, available: 8, moq: 25 }).quantity).toBe(25)
    expect(planQuantity({ ...base, available: 11, moq: 1 }).quantity).toBe(0)
  })
})

describe('published reference values', () => {
  // NAG Library Manual, nag_tsa_exp_smooth (g13amc), example program: linear Holt smoothing
  // (Nag_LinearHolt) with α = 0.01, γ = 1.0, φ = 1.0 on y = 180 135 213 181 148 204 228 225 198
  // 200 187 (g13amce.d). Published results (g13amce.r): initial values 168.018 and 3.800, the
  // one-step forecasts below, and the forecasts for periods 12–16: 213.854 217.685 221.516 225.346
  // 229.177. Its recursions are ours with one season of length 1 and no seasonal smoothing:
  // m_t = α y_t + (1 − α)(m_{t−1} + φ r_{t−1}), r_t = γ (m_t − m_{t−1}) + (1 − γ) φ r_{t−1}.
  // The published initial values are rounded to 3 decimals, so agreement is to ±0.002.
  const y = [180, 135, 213, 181, 148, 204, 228, 225, 198, 200, 187]
  const oneStep = [171.818, 175.782, 178.848, 183.005, 186.78, 189.8, 193.492, 197.732, 202.172, 206.256, 210.256]
  const ahead = [213.854, 217.685, 221.516, 225.346, 229.177]
  const p = { alpha: 0.01, beta: 1, gamma: 0, phi: 1 }
  const { states } = hwFilter(y, p, 1, { l: 168.018, b: 3.8, s: [0] })

  test('linear Holt (NAG g13amc example): every one-step forecast', () => {
    oneStep.forEach((f, t) => {
      expect(Math.abs(hwPoint(states[t] as HwState, p, t, 1, 1) - f)).toBeLessThan(0.002)
    })
  })
  test('linear Holt (NAG g13amc example): forecasts 1–5 periods past the data', () => {
    ahead.forEach((f, k) => {
      expect(Math.abs(hwPoint(states[y.length] as HwState, p, y.length, k + 1, 1) - f)).toBeLessThan(0.002)
    })
  })
})

describe('re-plan triggers', () => {
  test('big sale = N days of the first week of forecast demand, at least the floor', () => {
    expect(bigSaleUnits(new Array(28).fill(10), 3, 10)).toBe(30)
    expect(bigSaleUnits([1, 1, 1, 1, 1, 1, 1, 50], 3, 10)).toBe(10) // day 8 is not in the first week; floor 10
    expect(bigSaleUnits([2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5], 3, 1)).toBe(8) // ⌈7.5⌉
    expect(bigSaleUnits([], 3, 10)).toBe(10)
  })
  test('replan level: the reorder point while above it, the big-sale level below it, never negative', () => {
    expect(replanLevel(50, 30, 30)).toBe(30) // max(30, 20)
    expect(replanLevel(200, 30, 30)).toBe(170)
    expect(replanLevel(30, 30, 30)).toBe(0) // at the point already: only a big sale
    expect(replanLevel(25, 30, 10)).toBe(15)
  })
})
