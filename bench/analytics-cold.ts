// In-process, uncached compute time of the dashboard figures (bench/analytics.ts runs it with the
// bench database's DATABASE_URL): each call passes an explicit clock, which bypasses the cache, so
// every sample is a full read of the rollups (and the partial-hour edges from the facts).
import { overview, salesSeries, topProducts } from '../src/modules/analytics/service'

const N = Number(process.argv[2] ?? 60)
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return Math.round((s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? 0) * 100) / 100
}
const time = async (f: () => Promise<unknown>) => {
  const t0 = performance.now()
  await f()
  return performance.now() - t0
}
const out: Record<string, { p50: number; p95: number; n: number }> = {}
const cases: [string, () => Promise<unknown>][] = []
for (const w of ['24h', '7d', '30d'] as const) {
  cases.push([`overview ${w}`, () => overview(w, 'UTC', new Date())])
  cases.push([`top-products ${w}`, () => topProducts(w, 'revenue', 10, 'UTC', new Date())])
}
cases.push([
  'sales hour 24h',
  () => {
    const to = new Date()
    return salesSeries('hour', new Date(to.getTime() - 86_400_000), to, 'UTC')
  },
])
cases.push([
  'sales day 30d Asia/Kolkata',
  () => {
    const to = new Date(Date.now() - Math.floor(Math.random() * 3_600_000))
    return salesSeries('day', new Date(to.getTime() - 30 * 86_400_000), to, 'Asia/Kolkata')
  },
])
for (const [name, f] of cases) {
  await f() // plan cache
  const xs: number[] = []
  for (let i = 0; i < N; i++) xs.push(await time(f))
  out[name] = { p50: pct(xs, 50), p95: pct(xs, 95), n: N }
}
console.log(JSON.stringify(out))
process.exit(0)
