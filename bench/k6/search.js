// Search benchmark (issue 24): the same query mix at the same concurrency, once per mode — keyword
// first, then hybrid — in one run, so background load on a shared machine hits both alike.
// Queries: the browse benchmark's words, planted synonyms (semantic territory) and exact names.
// Target: hybrid p95 ≤ 30 ms at 50 VUs over 100k products; keyword no slower than today.
// Env: BASE_URL, QUERIES_FILE (JSON array of strings), VUS (50), PHASE (seconds per mode, 15), SUMMARY_FILE.
import { check } from 'k6'
import { SharedArray } from 'k6/data'
import http from 'k6/http'

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:3000'
const VUS = Number(__ENV.VUS || 50)
const PHASE = Number(__ENV.PHASE || 15)
const GAP = 2
const QUERIES = new SharedArray('queries', () => JSON.parse(open(__ENV.QUERIES_FILE)))
const MODES = ['keyword', 'hybrid']

const scenarios = {}
MODES.forEach((mode, i) => {
  scenarios[mode] = {
    executor: 'constant-vus',
    vus: VUS,
    duration: `${PHASE}s`,
    startTime: `${i * (PHASE + GAP)}s`,
    gracefulStop: '1s',
    exec: mode,
    tags: { kind: mode },
  }
})

export const options = {
  discardResponseBodies: false,
  systemTags: ['status', 'method', 'name', 'scenario', 'check'],
  scenarios,
  // k6 computes a tagged submetric only when a threshold names it: every one the summary reads is here.
  thresholds: {
    'http_req_duration{kind:hybrid}': ['p(95)<=30'],
    'http_req_duration{kind:keyword}': ['max>=0'],
    'http_reqs{kind:hybrid}': ['count>0'],
    'http_reqs{kind:keyword}': ['count>0'],
    'checks{kind:hybrid}': ['rate>0.999'],
    'checks{kind:keyword}': ['rate>0.999'],
  },
}

const run = (mode) => () => {
  const q = QUERIES[Math.floor(Math.random() * QUERIES.length)]
  const r = http.get(`${BASE}/api/v1/products?q=${encodeURIComponent(q)}&limit=20&mode=${mode}`, {
    tags: { name: `GET /api/v1/products?q=&mode=${mode}` },
  })
  check(r, { [`${mode} 200`]: (x) => x.status === 200 })
  // Which mode served it (hybrid falls back to keyword for identifier queries and without an index).
  check(r, { served: (x) => x.headers['X-Search-Mode'] !== undefined })
}
export const keyword = run('keyword')
export const hybrid = run('hybrid')

export function handleSummary(data) {
  const m = (name) => data.metrics[name]?.values ?? {}
  const mode = (s) => {
    const d = m(`http_req_duration{kind:${s}}`)
    const n = m(`http_reqs{kind:${s}}`).count ?? 0
    return { requests: n, rps: Math.round((n / PHASE) * 10) / 10, p50: d.med, p95: d['p(95)'], p99: d['p(99)'], max: d.max }
  }
  const out = { vus: VUS, phaseSeconds: PHASE, keyword: mode('keyword'), hybrid: mode('hybrid'), checksPassed: m('checks').rate }
  return { [__ENV.SUMMARY_FILE || 'bench/results/search.k6.tmp.json']: JSON.stringify(out, null, 2), stdout: `${JSON.stringify(out)}\n` }
}
