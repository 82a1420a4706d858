// `bun run eval:forecast [--seed 42] [--series 200]`: rolling-origin backtest of the planning
// forecasts on the seed generator's planted demand series (db/seed/demand.ts, the same series
// `db:seed` writes). Three origins per series (28, 56 and 84 days before the end), each forecasting
// the next 28 days from the history before it, as the forecast job would have seen it (stock-out
// days missing). Scores: MASE (mean absolute error ÷ the in-sample MAE of the one-week seasonal
// naive forecast; < 1 beats it), and how often the 80 % / 95 % intervals held the actual value.
// The baseline is the seasonal naive forecast itself, scored the same way. Writes
// bench/results/forecast-eval.json; exits 1 when regular series miss MASE < 1 or 80 % coverage
// outside 75–85 %.
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { type DemandKind, plantDemand } from '../db/seed/demand'
import { chooseMethod, forecastSeries, HORIZON, type Method, type Obs, type Score, score } from '../src/modules/planning/forecast'

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { seed: { type: 'string', default: '42' }, series: { type: 'string', default: '200' } },
})
const seed = Number(values.seed)
const count = Number(values.series)
const DAYS = 182

type Acc = { mase: number[]; n: number; in80: number; in95: number; folds: number }
const acc = () => ({ mase: [], n: 0, in80: 0, in95: 0, folds: 0 }) as Acc
function add(a: Acc, s: Score, points: { in80: number; in95: number }) {
  if (s.mase !== null) a.mase.push(s.mase)
  a.n += s.n
  a.in80 += points.in80
  a.in95 += points.in95
  a.folds++
}
const round = (x: number) => Math.round(x * 1000) / 1000
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN)
function summary(a: Acc) {
  return {
    mase: round(mean(a.mase)),
    coverage80: a.n ? round(a.in80 / a.n) : null,
    coverage95: a.n ? round(a.in95 / a.n) : null,
    folds: a.folds,
    days: a.n,
  }
}

const byKind = new Map<DemandKind, { model: Acc; baseline: Acc }>()
const byMethod = new Map<Method, { model: Acc; baseline: Acc }>()
const zeroFill = { censored: acc(), asZero: acc() }
const t0 = performance.now()
let fits = 0
for (const s of plantDemand(seed, count, DAYS)) {
  const origins = s.kind === 'short' ? [DAYS - 14] : [DAYS - 84, DAYS - 56, DAYS - 28]
  for (const origin of origins) {
    const train: Obs[] = s.observed.slice(0, origin)
    const actual: Obs[] = s.observed.slice(origin, origin + HORIZON)
    const h = actual.length
    const method = chooseMethod(train)
    const fit = forecastSeries(train, h, method)
    const base = forecastSeries(train, h, 'seasonal-naive')
    fits += 2
    const sm = score(train, actual, fit.points)
    const sb = score(train, actual, base.points)
    const k = byKind.get(s.kind) ?? { model: acc(), baseline: acc() }
    const m = byMethod.get(method) ?? { model: acc(), baseline: acc() }
    for (const [target, sc, pts] of [
      [k.model, sm, fit.points],
      [k.baseline, sb, base.points],
      [m.model, sm, fit.points],
      [m.baseline, sb, base.points],
    ] as const)
      add(target, sc, inside(actual, pts))
    byKind.set(s.kind, k)
    byMethod.set(method, m)
    // Censoring check: the same fit with stock-out days read as zero demand, scored on the days
    // after the stock-out (where a dragged-down level shows).
    if (train.some((v, i) => v === null && i >= s.startDay)) {
      const zero = train.map((v, i) => (v === null && i >= s.startDay ? 0 : v))
      const fz = forecastSeries(zero, h, chooseMethod(zero))
      add(zeroFill.censored, sm, inside(actual, fit.points))
      add(zeroFill.asZero, score(train, actual, fz.points), inside(actual, fz.points))
    }
  }
}

function inside(actual: readonly Obs[], pts: readonly { lower80: number; upper80: number; lower95: number; upper95: number }[]) {
  let in80 = 0
  let in95 = 0
  actual.forEach((v, i) => {
    const p = pts[i]
    if (v === null || !p) return
    if (v >= p.lower80 && v <= p.upper80) in80++
    if (v >= p.lower95 && v <= p.upper95) in95++
  })
  return { in80, in95 }
}

const kindOut = (k: DemandKind) => {
  const e = byKind.get(k)
  return e ? { ...summary(e.model), baseline: summary(e.baseline) } : null
}
const all = { model: acc(), baseline: acc() }
for (const e of byKind.values())
  for (const part of ['model', 'baseline'] as const) {
    all[part].mase.push(...e[part].mase)
    all[part].n += e[part].n
    all[part].in80 += e[part].in80
    all[part].in95 += e[part].in95
    all[part].folds += e[part].folds
  }
const regular = kindOut('regular')
const result = {
  generator: { seed, series: count, days: DAYS, source: 'db/seed/demand.ts plantDemand' },
  horizonDays: HORIZON,
  origins: 'rolling: 84, 56 and 28 days before the end (short series: 14)',
  baseline: 'seasonal naive (same weekday last week)',
  regular,
  promotional: kindOut('promotional'),
  intermittent: kindOut('intermittent'),
  short: kindOut('short'),
  overall: { ...summary(all.model), baseline: summary(all.baseline) },
  byMethod: Object.fromEntries([...byMethod].map(([k, e]) => [k, { ...summary(e.model), baseline: summary(e.baseline) }])),
  stockouts: {
    note: 'folds whose history has a stock-out: stock-out days treated as missing (ours) vs as zero demand',
    missing: summary(zeroFill.censored),
    asZero: summary(zeroFill.asZero),
  },
  fits,
  seconds: round((performance.now() - t0) / 1000),
  target: { regularMaseBelow: 1, regularCoverage80: [0.75, 0.85] },
}
const pass = regular !== null && regular.mase < 1 && regular.coverage80 !== null && regular.coverage80 >= 0.75 && regular.coverage80 <= 0.85
const out = resolve(import.meta.dir, '../bench/results/forecast-eval.json')
mkdirSync(resolve(out, '..'), { recursive: true })
await Bun.write(out, `${JSON.stringify({ ...result, pass }, null, 2)}\n`)

const row = (name: string, x: ReturnType<typeof summary> & { baseline?: ReturnType<typeof summary> }) =>
  `${name.padEnd(16)} MASE ${x.mase.toFixed(3)}  cov80 ${x.coverage80?.toFixed(3)}  cov95 ${x.coverage95?.toFixed(3)}  folds ${x.folds}` +
  (x.baseline ? `   | seasonal naive MASE ${x.baseline.mase.toFixed(3)} cov80 ${x.baseline.coverage80?.toFixed(3)}` : '')
for (const k of ['regular', 'promotional', 'intermittent', 'short'] as const) {
  const e = result[k]
  if (e) console.log(row(k, e))
}
for (const [k, e] of Object.entries(result.byMethod)) console.log(row(`method ${k}`, e))
console.log(row('overall', result.overall))
console.log(row('stockout→missing', result.stockouts.missing))
console.log(row('stockout→zero', result.stockouts.asZero))
console.log(`${fits} fits in ${result.seconds} s → ${out}; target ${pass ? 'met' : 'MISSED'}`)
if (!pass) process.exitCode = 1
