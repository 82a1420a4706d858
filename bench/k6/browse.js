// Browse benchmark: GET /health, cached GET /api/v1/products/:id and search in the same run at the
// same concurrency, so the product-read rate can be compared with /health. Health and product reads
// alternate in SLICES short slices each, so background load on a shared machine that drifts over the
// run hits both alike instead of skewing the ratio; search runs after them.
// Targets (issue 4): product read ≥ 0.6 × /health rate with p99 ≤ 20 ms; search p95 ≤ 25 ms at 50 VUs.
// Env: BASE_URL, IDS_FILE (JSON array of product ids), VUS (search, 50), READ_VUS (health + product, = VUS), PHASE (seconds per scenario, 15),
// SLICES (health/product alternations, 5),
// SUMMARY_FILE (where handleSummary writes the JSON summary).
import { check } from 'k6'
import { SharedArray } from 'k6/data'
import http from 'k6/http'

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:3000'
const VUS = Number(__ENV.VUS || 50)
const READ_VUS = Number(__ENV.READ_VUS || VUS)
const PHASE = Number(__ENV.PHASE || 15)
const GAP = 2
const ids = new SharedArray('ids', () => JSON.parse(open(__ENV.IDS_FILE)))
// Words the seed uses (brands, adjectives, nouns), two-word queries, type-ahead prefixes and typos.
const QUERIES = new SharedArray('queries', () => [
  'headphones',
  'wireless headphones',
  'aurora',
  'portable speaker',
  'tent',
  'ergonomic chair',
  'stainless kettle',
  'camping lantern',
  'bluetooth earbuds',
  'waterproof jacket',
  'headph',
  'wirel',
  'nimbus drone',
  'retro console',
  'usb-c charger',
  'noise cancelling',
  'ceramic mug',
  'solar lantern',
  'kestrel backpack',
  'smart watch',
  'projector',
  'vintage guitar',
  'heavy-duty drill',
  'sleeping bag',
  'cordless vacuum',
  'espresso grinder',
  'skilet',
  'hedphones',
  'bamboo planter',
  'gifting',
])

const SLICES = Number(__ENV.SLICES || 5)
const SLICE = PHASE / SLICES
const slice = (start, vus, exec, kind) => ({
  executor: 'constant-vus',
  vus,
  duration: `${SLICE}s`,
  startTime: `${start}s`,
  gracefulStop: '1s',
  exec,
  tags: { kind },
})
const scenarios = {}
for (let i = 0; i < SLICES; i++) {
  scenarios[`health_${i}`] = slice(2 * i * (SLICE + 1), READ_VUS, 'health', 'health')
  scenarios[`product_${i}`] = slice((2 * i + 1) * (SLICE + 1), READ_VUS, 'product', 'product')
}
scenarios.search = slice(2 * SLICES * (SLICE + 1) + GAP, VUS, 'search', 'search')
scenarios.search.duration = `${PHASE}s`

export const options = {
  discardResponseBodies: true,
  // k6 shares the 2 cores with the API: few tags per sample, and one `name` per route instead of
  // 100k distinct URLs (each a new tag set for k6 to intern).
  systemTags: ['status', 'method', 'name', 'scenario', 'check'],
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
  scenarios,
  thresholds: {
    'http_req_duration{kind:product}': ['p(99)<=20'],
    'http_req_duration{kind:search}': ['p(95)<=25'],
    // Listed so the summary carries per-kind figures.
    'http_req_duration{kind:health}': ['p(99)>=0'],
    'http_reqs{kind:health}': ['count>0'],
    'http_reqs{kind:product}': ['count>0'],
    'http_reqs{kind:search}': ['count>0'],
    'checks{kind:product}': ['rate>0.999'],
    'checks{kind:search}': ['rate>0.999'],
  },
}

export function setup() {
  // Warm the product cache: the product scenario measures cached reads.
  for (let i = 0; i < ids.length; i += 100) {
    http.batch(ids.slice(i, i + 100).map((id) => ['GET', `${BASE}/api/v1/products/${id}`, null, { tags: { name: 'warm' } }]))
  }
}

const HEALTH = { tags: { name: 'GET /health' } }
const PRODUCT = { tags: { name: 'GET /api/v1/products/:id' } }
const SEARCH = { tags: { name: 'GET /api/v1/products?q=' } }

export function health() {
  const r = http.get(`${BASE}/health`, HEALTH)
  check(r, { 'health 200': (x) => x.status === 200 })
}

export function product() {
  const r = http.get(`${BASE}/api/v1/products/${ids[Math.floor(Math.random() * ids.length)]}`, PRODUCT)
  check(r, { 'product 200': (x) => x.status === 200 })
}

export function search() {
  const q = QUERIES[Math.floor(Math.random() * QUERIES.length)]
  const r = http.get(`${BASE}/api/v1/products?q=${encodeURIComponent(q)}&limit=20`, SEARCH)
  check(r, { 'search 200': (x) => x.status === 200 })
}

export function handleSummary(data) {
  const m = (name) => data.metrics[name]?.values ?? {}
  const scenario = (s) => {
    const d = m(`http_req_duration{kind:${s}}`)
    const n = m(`http_reqs{kind:${s}}`).count ?? 0
    return { requests: n, rps: Math.round((n / PHASE) * 10) / 10, p50: d.med, p95: d['p(95)'], p99: d['p(99)'], max: d.max }
  }
  const out = {
    vus: VUS,
    readVus: READ_VUS,
    phaseSeconds: PHASE,
    health: scenario('health'),
    product: scenario('product'),
    search: scenario('search'),
    checksPassed: m('checks').rate,
    thresholds: Object.fromEntries(
      Object.entries(data.metrics)
        .filter(([, v]) => v.thresholds)
        .map(([k, v]) => [k, Object.values(v.thresholds).every((t) => t.ok)]),
    ),
  }
  out.productToHealthRatio = out.health.rps ? Math.round((out.product.rps / out.health.rps) * 100) / 100 : null
  return {
    [__ENV.SUMMARY_FILE || 'bench/results/browse.k6.tmp.json']: JSON.stringify(out, null, 2),
    stdout: `${JSON.stringify(out)}\n`,
  }
}
