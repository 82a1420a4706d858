// Analytics dashboard benchmark: overview, sales series and top products over a seeded database.
// One phase per endpoint with the dashboard's own queries (random window; the per-window cache
// serves most of them, as it would serve a wall of dashboards). The uncached compute time is
// measured in-process by bench/analytics.ts. Target (issue 22): p95 ≤ 20 ms at 1M orders.
// Env: BASE_URL, TOKEN (admin bearer), VUS (10), PHASE (seconds per phase, 10), SUMMARY_FILE.
import { check } from 'k6'
import http from 'k6/http'
import { Trend } from 'k6/metrics'

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:3000'
const VUS = Number(__ENV.VUS || 10)
const PHASE = Number(__ENV.PHASE || 10)
const headers = { authorization: `Bearer ${__ENV.TOKEN}` }
const ENDPOINTS = ['overview', 'sales', 'top']
const trends = {}
for (const e of ENDPOINTS) for (const p of ['warm']) trends[`${e}_${p}`] = new Trend(`${e}_${p}`, true)

const WINDOWS = ['24h', '7d', '30d']

export const options = {
  scenarios: Object.fromEntries(
    ENDPOINTS.flatMap((e, i) =>
      ['warm'].map((p, j) => [
        `${e}_${p}`,
        {
          executor: 'constant-vus',
          vus: VUS,
          duration: `${PHASE}s`,
          startTime: `${(i + j) * (PHASE + 1)}s`,
          exec: p,
          env: { EP: e },
          gracefulStop: '2s',
        },
      ]),
    ),
  ),
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max', 'count'],
}

function url(ep) {
  const w = WINDOWS[Math.floor(Math.random() * WINDOWS.length)]
  const tz = 'UTC'
  if (ep === 'overview') return `${BASE}/api/v1/admin/analytics/overview?window=${w}&tz=${encodeURIComponent(tz)}`
  if (ep === 'top') return `${BASE}/api/v1/admin/analytics/top-products?window=${w}&limit=10&tz=${encodeURIComponent(tz)}`
  // Sales: last 24 h by hour or last 30 days by day, ending at the current minute (as a dashboard asks).
  const day = Math.random() < 0.5
  const to = new Date(Math.floor(Date.now() / 60000) * 60000)
  const from = new Date(to.getTime() - (day ? 30 * 86400000 : 86400000))
  return `${BASE}/api/v1/admin/analytics/sales?granularity=${day ? 'day' : 'hour'}&from=${from.toISOString()}&to=${to.toISOString()}&tz=${encodeURIComponent(tz)}`
}

export function warm() {
  const ep = __ENV.EP
  const r = http.get(url(ep), { headers })
  check(r, { 'status 200': (x) => x.status === 200 })
  trends[`${ep}_warm`].add(r.timings.duration)
}

export function handleSummary(data) {
  const out = {}
  for (const k of Object.keys(trends)) {
    const v = data.metrics[k]?.values ?? {}
    out[k] = { count: v.count ?? 0, p95: v['p(95)'] ?? null, p99: v['p(99)'] ?? null, med: v.med ?? null }
  }
  out.failedChecks = data.metrics.checks ? data.metrics.checks.values.fails : null
  return { [__ENV.SUMMARY_FILE || 'analytics-summary.json']: JSON.stringify(out) }
}
