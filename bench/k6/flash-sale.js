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

const tokens = new SharedArray('tokens', () => (__ENV.TOKENS_FILE ? JSON.parse(open(__ENV.TOKENS_FILE)) : [__ENV.TOKEN || '']))

const successes = new Counter('successes')
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
    sale: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: VUS,
      maxVUs: VUS,
    },
  },
  thresholds: {
    // The proof: never more orders than units.
    successes: [`count<=${MODE === 'order' ? STOCK : 1e12}`],
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

export default function () {
  // Round-robin by buyer: each VU keeps to one instance (one keep-alive connection), as a browser
  // would behind a load balancer, instead of holding a connection to every instance.
  const base = BASE_URLS[__VU % BASE_URLS.length]
  if (MODE === 'health') {
    const res = http.get(`${base}/health`, healthParams)
    if (!check(res, { 'health 200': (r) => r.status === 200 })) {
      unexpected.add(1)
      if (res.status >= 500) serverErrors.add(1)
      if (res.status === 0) timeouts.add(1)
    }
    return
  }
  const res = http.post(`${base}/api/v1/orders`, body, orderParams())
  const ok = check(res, { '201 or 409': (r) => r.status === 201 || r.status === 409 })
  if (res.status === 201) successes.add(1)
  else if (res.status === 409) rejections.add(1)
  if (!ok) {
    unexpected.add(1, { status: String(res.status) })
    if (res.status >= 500) serverErrors.add(1)
    if (res.status === 0) timeouts.add(1)
    if (loggedUnexpected++ < 2) console.warn(`unexpected ${res.status} ${res.error || ''} ${String(res.body).slice(0, 300)}`)
  }
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
    requests: v('http_reqs', 'count'),
    requestsPerSecond: v('http_reqs', 'rate'),
    successes: v('successes', 'count'),
    rejections: v('rejections', 'count'),
    unexpected: v('unexpected', 'count'),
    serverErrors: v('server_errors', 'count'),
    timeouts: v('timeouts', 'count'),
    droppedIterations: v('dropped_iterations', 'count'),
    latencyMs: {
      p50: v('http_req_duration', 'p(50)'),
      p95: v('http_req_duration', 'p(95)'),
      p99: v('http_req_duration', 'p(99)'),
      max: v('http_req_duration', 'max'),
    },
    checksRate: v('checks', 'rate'),
    thresholdsPassed: Object.values(m).every((x) => !x.thresholds || Object.values(x.thresholds).every((t) => t.ok)),
  }
  const file = __ENV.SUMMARY_FILE || 'bench/results/flash-sale.k6.tmp.json'
  return { [file]: JSON.stringify(out, null, 2), stdout: `${JSON.stringify(out)}\n` }
}
