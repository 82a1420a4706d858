// Flash sale: buyers hammer POST /api/v1/orders for ONE product with limited stock, round-robin
// across API instances (BASE_URLS), open arrival model (constant-arrival-rate: new attempts keep
// coming whether or not the server keeps up). Only 201 (got it) and 409 (sold out) are acceptable;
// `successes` must never exceed STOCK (that would be an oversell).
// MODE=health hits GET /health with the same model: the baseline the sale is compared with.
//
// env: BASE_URLS (comma-separated), PRODUCT_ID, STOCK, TOKENS_FILE (JSON array of bearer tokens)
//      or TOKEN, RATE (attempts/s), DURATION, VUS, MODE (order|health), SUMMARY_FILE
import { check } from 'k6'
import { SharedArray } from 'k6/data'
import http from 'k6/http'
import { Counter } from 'k6/metrics'

const BASE_URLS = (__ENV.BASE_URLS || 'http://127.0.0.1:3000').split(',').map((u) => u.trim())
const MODE = __ENV.MODE || 'order'
const STOCK = Number(__ENV.STOCK || 100)
const RATE = Number(__ENV.RATE || 1000)
const VUS = Number(__ENV.VUS || 1000)
const DURATION = __ENV.DURATION || '10s'
const PRODUCT_ID = __ENV.PRODUCT_ID || ''
// WARMUP (e.g. '3s') with WARMUP_PRODUCT_ID (another product with the same stock): the same buyers
// first go through a drop of that product, so the measured sale opens on warm instances, to a
// crowd that is already connected. Only the `sale` scenario's figures are reported.
const WARMUP = (MODE === 'order' && __ENV.WARMUP_PRODUCT_ID && __ENV.WARMUP) || ''
const WARMUP_PRODUCT_ID = __ENV.WARMUP_PRODUCT_ID || ''
const secs = (d) => Number.parseFloat(d) * (d.endsWith('ms') ? 0.001 : d.endsWith('m') ? 60 : 1)
const WARMUP_GAP = 1 // s: the warm-up's graceful stop, so both scenarios can share the same VUs
const SALE_START = WARMUP ? secs(WARMUP) + WARMUP_GAP : 0

const tokens = new SharedArray('tokens', () => (__ENV.TOKENS_FILE ? JSON.parse(open(__ENV.TOKENS_FILE)) : [__ENV.TOKEN || '']))

const successes = new Counter('successes')
const warmupSuccesses = new Counter('warmup_successes')
const rejections = new Counter('rejections')
const unexpected = new Counter('unexpected')
const serverErrors = new Counter('server_errors')
const timeouts = new Counter('timeouts')

export const options = {
  discardResponseBodies: true,
  // Fewer tags per sample: cheaper for k6, which shares the 2 cores with the API.
  systemTags: ['status', 'method', 'name', 'scenario', 'expected_response', 'check'],
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(50)', 'p(95)', 'p(99)'],
  scenarios: {
    ...(WARMUP
      ? {
          warmup: {
            executor: 'constant-arrival-rate',
            exec: 'warmup',
            rate: RATE,
            timeUnit: '1s',
            duration: WARMUP,
            preAllocatedVUs: VUS,
            maxVUs: VUS,
            gracefulStop: `${WARMUP_GAP}s`,
          },
        }
      : {}),
    sale: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      startTime: `${SALE_START}s`,
      preAllocatedVUs: VUS,
      maxVUs: VUS,
    },
  },
  thresholds: {
    // Declared so the summary has the sale's own figures (not the warm-up's), and the rejections'.
    'http_req_duration{scenario:sale}': ['max>=0'],
    'http_req_duration{scenario:sale,status:409}': ['max>=0'],
    'http_reqs{scenario:sale}': ['count>=0'],
    // The proof: never more orders than units.
    successes: [`count<=${MODE === 'order' ? STOCK : 1e12}`],
    warmup_successes: [`count<=${STOCK}`],
    // 201/409 only (200 for the health baseline): no 5xx, no timeouts, nothing else.
    checks: ['rate==1'],
    unexpected: ['count==0'],
  },
}

export function setup() {
  if (MODE === 'order' && !PRODUCT_ID) throw new Error('PRODUCT_ID is required')
  if (MODE === 'order' && !tokens[0]) throw new Error('TOKENS_FILE or TOKEN is required')
  return {}
}

// Built once: the load generator shares the machine with the system under test, so each
// iteration does as little as possible (k6 recreating these per request cost more CPU than the API).
const expected = MODE === 'order' ? http.expectedStatuses(201, 409) : http.expectedStatuses(200)
// Keys must be unique across the runs of one bench (same buyers, same database): a per-VU random tag.
const runTag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`
let headers = null
const orderParams = () => {
  // Each VU is one buyer (its token), as a browser would keep its session.
  headers ??= {
    authorization: `Bearer ${tokens[(__VU * 7919) % tokens.length]}`,
    'content-type': 'application/json',
    'idempotency-key': '',
  }
  headers['idempotency-key'] = `k6-${runTag}-${__VU}-${__ITER}`
  return { headers, responseCallback: expected, responseType: 'text', timeout: '30s', tags: { name: 'POST /api/v1/orders' } }
}

const healthParams = { tags: { name: 'GET /health' }, responseCallback: expected }
let loggedUnexpected = 0
const body = JSON.stringify({ items: [{ productId: PRODUCT_ID, quantity: 1 }] })

const warmupBody = JSON.stringify({ items: [{ productId: WARMUP_PRODUCT_ID, quantity: 1 }] })
export function warmup() {
  order(warmupBody, warmupSuccesses, null)
}

/** One checkout attempt: a 201 adds to `won`, a 409 to `lost` (when given); anything else is unexpected. */
function order(payload, won, lost) {
  // Round-robin by buyer: each VU keeps to one instance (one keep-alive connection), as a browser
  // would behind a load balancer, instead of holding a connection to every instance.
  const base = BASE_URLS[__VU % BASE_URLS.length]
  const res = http.post(`${base}/api/v1/orders`, payload, orderParams())
  const ok = check(res, { '201 or 409': (r) => r.status === 201 || r.status === 409 })
  if (res.status === 201) won.add(1)
  else if (res.status === 409 && lost) lost.add(1)
  if (!ok) {
    unexpected.add(1, { status: String(res.status) })
    if (res.status >= 500) serverErrors.add(1)
    if (res.status === 0) timeouts.add(1)
    if (loggedUnexpected++ < 2) console.warn(`unexpected ${res.status} ${res.error || ''} ${String(res.body).slice(0, 300)}`)
  }
}

export default function () {
  if (MODE === 'health') {
    const res = http.get(`${BASE_URLS[__VU % BASE_URLS.length]}/health`, healthParams)
    if (!check(res, { 'health 200': (r) => r.status === 200 })) {
      unexpected.add(1)
      if (res.status >= 500) serverErrors.add(1)
      if (res.status === 0) timeouts.add(1)
    }
    return
  }
  order(body, successes, rejections)
}

export function handleSummary(data) {
  const m = data.metrics
  const v = (name, stat) => (m[name] && m[name].values[stat] !== undefined ? m[name].values[stat] : 0)
  const out = {
    mode: MODE,
    stock: STOCK,
    targetRate: RATE,
    vus: VUS,
    duration: DURATION,
    requests: v('http_reqs{scenario:sale}', 'count'),
    // Over the sale's own run time, tail included (a warm-up before it is not counted).
    requestsPerSecond: v('http_reqs{scenario:sale}', 'count') / (data.state.testRunDurationMs / 1000 - SALE_START),
    successes: v('successes', 'count'),
    rejections: v('rejections', 'count'),
    unexpected: v('unexpected', 'count'),
    serverErrors: v('server_errors', 'count'),
    timeouts: v('timeouts', 'count'),
    droppedIterations: v('dropped_iterations', 'count'),
    latencyMs: {
      p50: v('http_req_duration{scenario:sale}', 'p(50)'),
      p95: v('http_req_duration{scenario:sale}', 'p(95)'),
      p99: v('http_req_duration{scenario:sale}', 'p(99)'),
      max: v('http_req_duration{scenario:sale}', 'max'),
    },
    rejectionLatencyMs: {
      p50: v('http_req_duration{scenario:sale,status:409}', 'p(50)'),
      p99: v('http_req_duration{scenario:sale,status:409}', 'p(99)'),
    },
    checksRate: v('checks', 'rate'),
    thresholdsPassed: Object.values(m).every((x) => !x.thresholds || Object.values(x.thresholds).every((t) => t.ok)),
  }
  const file = __ENV.SUMMARY_FILE || 'bench/results/flash-sale.k6.tmp.json'
  return { [file]: JSON.stringify(out, null, 2), stdout: `${JSON.stringify(out)}\n` }
}
