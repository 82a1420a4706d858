// Daily demand forecasting, pure (no I/O): Holt-Winters (additive weekly seasonality, damped
// trend) for regular demand, Croston with the Syntetos–Boylan correction for intermittent demand,
// seasonal naive for short histories. Days marked as stock-outs are missing observations, never
// zero demand: the filters carry their own one-step forecast through them and no error is scored.
//
// Why hand-written: no maintained npm package implements exponential smoothing with seasonality
// or Croston (the `arima` package is SARIMA only; the ETS packages on npm are unmaintained
// single-release ports). Each method is ~30 lines and tested against hand-computed values
// (src/modules/planning/forecast.test.ts). Quantiles and the normal quantile come from
// simple-statistics.
import { probit, quantile } from 'simple-statistics'

export const SEASON = 7
export const HORIZON = 28
export type Method = 'holt-winters' | 'croston-sba' | 'seasonal-naive'
/** One day of history: units demanded, or null when a stock-out hid the demand. */
export type Obs = number | null
export type Band = { value: number; lower80: number; upper80: number; lower95: number; upper95: number }
export type Fit = { method: Method; points: Band[]; sigma: number }

// Empirical error quantiles of the fitted model, not a Gaussian: daily unit demand is skewed and
// bounded below by zero.
const Q = [0.025, 0.1, 0.9, 0.975]

/** Syntetos–Boylan: average inter-demand interval above 1.32 → intermittent. */
export function chooseMethod(y: readonly Obs[]): Method {
  const seen = y.filter((v): v is number => v !== null)
  if (seen.length < 4 * SEASON) return 'seasonal-naive'
  const nonzero = seen.filter((v) => v > 0).length
  if (nonzero === 0 || seen.length / nonzero > 1.32) return 'croston-sba'
  return 'holt-winters'
}

export function forecastSeries(y: readonly Obs[], h = HORIZON, method: Method = chooseMethod(y)): Fit {
  if (method === 'holt-winters') return holtWintersFit(y, h)
  if (method === 'croston-sba') return crostonFit(y, h)
  return seasonalNaiveFit(y, h)
}

// ---------------------------------------------------------------------------------------------
// Holt-Winters, additive seasonality, damped additive trend (ETS(A,Ad,A) point recursions).

export type HwParams = { alpha: number; beta: number; gamma: number; phi: number }
export type HwState = { l: number; b: number; s: number[] }

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0)
const known = (xs: readonly Obs[]) => xs.filter((v): v is number => v !== null)

function hwInit(y: readonly Obs[], m: number): HwState {
  const first = known(y.slice(0, m))
  const second = known(y.slice(m, 2 * m))
  const l = mean(first)
  const b = second.length && first.length ? (mean(second) - l) / m : 0
  const s = Array.from({ length: m }, (_, i) => ((y[i] ?? null) === null ? 0 : (y[i] as number) - l))
  const sm = mean(s)
  return { l, b, s: s.map((v) => v - sm) }
}

export function hwPoint(st: HwState, p: HwParams, t: number, h: number, m = SEASON): number {
  let damp = 0
  for (let i = 1, f = p.phi; i <= h; i++, f *= p.phi) damp += f
  return st.l + damp * st.b + (st.s[(t + h - 1) % m] as number)
}

/**
 * Runs the recursions over y; `states[t]` is the state after observing y[0..t-1] (so hwPoint(states[t], p, t, h)
 * forecasts y[t+h-1]). Returns the one-step squared error sum over known observations after the first season.
 * `init` replaces the first-weeks initial state (the tests start from a published one).
 */
export function hwFilter(
  y: readonly Obs[],
  p: HwParams,
  m = SEASON,
  init: HwState = hwInit(y, m),
): { states: HwState[]; sse: number; n: number } {
  let st = init
  const states: HwState[] = []
  let sse = 0
  let n = 0
  for (let t = 0; t < y.length; t++) {
    states.push(st)
    const yhat = hwPoint(st, p, t, 1, m)
    const obs = y[t] ?? null
    const v = obs ?? yhat
    if (obs !== null && t >= m) {
      sse += (obs - yhat) ** 2
      n++
    }
    const si = t % m
    const sOld = st.s[si] as number
    const l = p.alpha * (v - sOld) + (1 - p.alpha) * (st.l + p.phi * st.b)
    const b = p.beta * (l - st.l) + (1 - p.beta) * p.phi * st.b
    const s = st.s.slice()
    s[si] = p.gamma * (v - st.l - p.phi * st.b) + (1 - p.gamma) * sOld
    st = { l, b, s }
  }
  states.push(st)
  return { states, sse, n }
}

const GRID: HwParams[] = []
for (const alpha of [0.05, 0.1, 0.2, 0.3, 0.5])
  for (const beta of [0, 0.01, 0.05])
    for (const gamma of [0.05, 0.1, 0.2, 0.3]) for (const phi of [0.8, 0.9, 0.98]) GRID.push({ alpha, beta, gamma, phi })

/** Least one-step squared error over a small grid (180 candidates; deterministic, ~1 ms per series). */
export function hwFitParams(y: readonly Obs[], m = SEASON): HwParams {
  let best = GRID[0] as HwParams
  let bestSse = Number.POSITIVE_INFINITY
  for (const p of GRID) {
    const { sse } = hwFilter(y, p, m)
    if (sse < bestSse) {
      bestSse = sse
      best = p
    }
  }
  return best
}

function holtWintersFit(y: readonly Obs[], h: number): Fit {
  const p = hwFitParams(y)
  const { states } = hwFilter(y, p)
  const n = y.length
  const last = states[n] as HwState
  const errs = horizonErrors(y, h, 2 * SEASON, (t, k) => hwPoint(states[t] as HwState, p, t, k))
  const point = (k: number) => hwPoint(last, p, n, k)
  return { method: 'holt-winters', points: bands(h, point, errs), sigma: rms(errs[0] ?? []) }
}

// ---------------------------------------------------------------------------------------------
// Croston (1972) with the Syntetos–Boylan (2005) bias correction (1 − α/2).

export function croston(y: readonly Obs[], alpha: number): { forecasts: number[]; final: number } {
  let z: number | null = null
  let p: number | null = null
  let q = 1
  const forecasts: number[] = [] // forecasts[t] = forecast of y[t] made after y[0..t-1]
  const f = () => (z === null || p === null ? 0 : (1 - alpha / 2) * (z / p))
  for (const v of y) {
    forecasts.push(f())
    if (v === null) continue // a stock-out day: neither a demand nor an interval tick
    if (v > 0) {
      if (z === null || p === null) {
        z = v
        p = q
      } else {
        z = z + alpha * (v - z)
        p = p + alpha * (q - p)
      }
      q = 1
    } else q++
  }
  return { forecasts, final: f() }
}

function crostonFit(y: readonly Obs[], h: number): Fit {
  let best = { alpha: 0.1, sse: Number.POSITIVE_INFINITY }
  for (const alpha of [0.05, 0.1, 0.2, 0.3]) {
    const { forecasts } = croston(y, alpha)
    let sse = 0
    y.forEach((v, t) => {
      if (v !== null && t >= SEASON) sse += (v - (forecasts[t] as number)) ** 2
    })
    if (sse < best.sse) best = { alpha, sse }
  }
  const { forecasts, final } = croston(y, best.alpha)
  // The forecast is flat, so every horizon shares one error distribution.
  const flat = known(y.map((v, t) => (v === null || t < SEASON ? null : v - (forecasts[t] as number))))
  return { method: 'croston-sba', points: bands(h, () => final, [flat]), sigma: rms(flat) }
}

// ---------------------------------------------------------------------------------------------
// Seasonal naive: the same weekday last week (the last known one when a stock-out hid it).

export function seasonalNaivePoint(y: readonly Obs[], t: number, k: number, m = SEASON): number {
  for (let back = t - m + ((k - 1) % m); back >= 0; back -= m) {
    const v = y[back] ?? null
    if (v !== null) return v
  }
  return mean(known(y.slice(0, t)))
}

function seasonalNaiveFit(y: readonly Obs[], h: number): Fit {
  const n = y.length
  const errs = horizonErrors(y, h, SEASON, (t, k) => seasonalNaivePoint(y, t, k))
  if ((errs[0]?.length ?? 0) < 5) {
    // Too little history to measure errors: a Poisson-like spread around the mean.
    const mu = mean(known(y))
    const sd = Math.sqrt(Math.max(mu, 1))
    errs.splice(0, errs.length, [-1.96 * sd, -1.28 * sd, 1.28 * sd, 1.96 * sd])
  }
  return { method: 'seasonal-naive', points: bands(h, (k) => seasonalNaivePoint(y, n, k), errs), sigma: rms(errs[0] ?? []) }
}

// ---------------------------------------------------------------------------------------------
// Intervals and scores.

/** In-sample k-step errors of `point(t, k)` (forecast of y[t+k-1] from origin t), for k = 1..h. */
function horizonErrors(y: readonly Obs[], h: number, from: number, point: (t: number, k: number) => number): number[][] {
  const errs: number[][] = Array.from({ length: h }, () => [])
  for (let t = from; t < y.length; t++) {
    for (let k = 1; k <= h && t + k - 1 < y.length; k++) {
      const v = y[t + k - 1] ?? null
      if (v !== null) (errs[k - 1] as number[]).push(v - point(t, k))
    }
  }
  return errs
}

/**
 * Point ± empirical error quantiles per horizon. A horizon with fewer than 20 measured errors
 * borrows the nearest shorter horizon that has them, widened by √(k/j) (random-walk growth).
 */
function bands(h: number, point: (k: number) => number, errs: number[][]): Band[] {
  const out: Band[] = []
  let ref: { q: number[]; k: number } | null = null
  for (let k = 1; k <= h; k++) {
    const e = errs[Math.min(k, errs.length) - 1] ?? []
    let q: number[]
    if (e.length >= 20 || (ref === null && e.length > 0)) {
      q = quantile(e, Q)
      ref = { q, k }
    } else if (ref) q = ref.q.map((v) => v * Math.sqrt(k / ref!.k))
    else q = [0, 0, 0, 0]
    const v = Math.max(0, point(k))
    const at = (i: number) => Math.max(0, v + (q[i] as number))
    out.push({ value: v, lower95: at(0), lower80: at(1), upper80: at(2), upper95: at(3) })
  }
  return out
}

const rms = (xs: readonly number[]) => (xs.length ? Math.sqrt(mean(xs.map((x) => x * x))) : 0)

/** MASE scale: in-sample mean absolute error of the one-season naive forecast (known pairs only). */
export function maseScale(train: readonly Obs[], m = SEASON): number {
  const d: number[] = []
  for (let t = m; t < train.length; t++) {
    const a = train[t] ?? null
    const b = train[t - m] ?? null
    if (a !== null && b !== null) d.push(Math.abs(a - b))
  }
  return mean(d)
}

export type Score = { mase: number | null; coverage80: number | null; coverage95: number | null; n: number; absErr: number; scale: number }

/** Scores a forecast against actuals (stock-out days skipped). */
export function score(train: readonly Obs[], actual: readonly Obs[], points: readonly Band[]): Score {
  let absErr = 0
  let in80 = 0
  let in95 = 0
  let n = 0
  actual.forEach((v, i) => {
    const p = points[i]
    if (v === null || !p) return
    n++
    absErr += Math.abs(v - p.value)
    if (v >= p.lower80 && v <= p.upper80) in80++
    if (v >= p.lower95 && v <= p.upper95) in95++
  })
  const scale = maseScale(train)
  return {
    mase: n && scale > 0 ? absErr / n / scale : null,
    coverage80: n ? in80 / n : null,
    coverage95: n ? in95 / n : null,
    n,
    absErr,
    scale,
  }
}

/** z for a one-sided service level (0.95 → 1.645). */
export const serviceZ = (level: number): number => probit(level)
