// Pre-open stampede of a flash-sale event (issue 21): VUS buyers (one per token) arrive before the
// opening, poll GET /sales/:id and post POST /sales/:id/orders from 2 s before startsAt until the
// sale is sold out (the page says so) or they won (a winner stops), round-robin over the API instances (BASE_URLS).
// Closed loop, no think time: the crowd hammers. Latencies are kept per answer: 425 (too early),
// 201 (won), 409 (sold out / limit). `early_wins` counts 201s whose request LEFT before the opening
// by k6's clock (the server's clock decides: on a saturated box such a request is served after it;
// the bench checks in Postgres that no order is older than the opening).
//
// The opening is set by setup(), after k6 has initialised every VU (which takes seconds for 1,000
// VUs on a busy box): it reschedules the sale (admin PATCH) to LEAD_MS from then, so the whole crowd
// is polling before T − 2 s.
//
// env: BASE_URLS, SALE_ID, ADMIN_TOKEN, LEAD_MS, TOKENS_FILE, VUS, MAX_SECONDS, SUMMARY_FILE
import { sleep } from 'k6'
import { SharedArray } from 'k6/data'
import exec from 'k6/execution'
import http from 'k6/http'
import { Counter, Trend } from 'k6/metrics'

const BASE_URLS = (__ENV.BASE_URLS || 'http://127.0.0.1:3000').split(',').map((u) => u.trim())
const SALE_ID = __ENV.SALE_ID
const LEAD_MS = Number(__ENV.LEAD_MS || 5000)
const VUS = Number(__ENV.VUS || 1000)
const MAX_SECONDS = Number(__ENV.MAX_SECONDS || 30)
const tokens = new SharedArray('tokens', () => JSON.parse(open(__ENV.TOKENS_FILE)))

const lat425 = new Trend('lat_425', true)
const lat201 = new Trend('lat_201', true)
const lat409 = new Trend('lat_409', true)
const latGet = new Trend('lat_get', true)
const won = new Counter('won')
const tooEarly = new Counter('too_early')
const soldOut = new Counter('sold_out')
const overLimit = new Counter('over_limit')
const serverErrors = new Counter('server_errors')
const connectionErrors = new Counter('connection_errors')
const other = new Counter('other')
const earlyWins = new Counter('early_wins')
const polls = new Counter('polls')

export const options = {
  discardResponseBodies: false,
  systemTags: ['status', 'method', 'scenario'],
  summaryTrendStats: ['med', 'p(95)', 'p(99)', 'max', 'count'],
  scenarios: {
    crowd: { executor: 'per-vu-iterations', vus: VUS, iterations: 1, maxDuration: `${MAX_SECONDS}s`, gracefulStop: '5s' },
  },
}

const uuid = () =>
  'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = (Math.random() * 16) | 0
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16)
  })

export function setup() {
  const startsAt = Date.now() + LEAD_MS
  const r = http.patch(
    `${BASE_URLS[0]}/api/v1/admin/sales/${SALE_ID}`,
    JSON.stringify({ startsAt: new Date(startsAt).toISOString(), endsAt: new Date(startsAt + 600000).toISOString() }),
    { headers: { authorization: `Bearer ${__ENV.ADMIN_TOKEN}`, 'content-type': 'application/json' } },
  )
  if (r.status !== 200) throw new Error(`reschedule: ${r.status} ${r.body}`)
  return { startsAt }
}

export default function (data) {
  const STARTS_AT = data.startsAt
  const vu = exec.vu.idInTest - 1
  const base = BASE_URLS[vu % BASE_URLS.length]
  const token = tokens[vu % tokens.length]
  const auth = { authorization: `Bearer ${token}` }
  const deadline = Date.now() + MAX_SECONDS * 1000
  let etag = ''
  // Poll until 2 s before the opening (the crowd is there early), then hammer.
  while (Date.now() < STARTS_AT - 2000 && Date.now() < deadline) {
    const r = http.get(`${base}/api/v1/sales/${SALE_ID}`, { headers: etag ? { 'if-none-match': etag } : {} })
    polls.add(1)
    latGet.add(r.timings.duration)
    if (r.status === 200) etag = r.headers.Etag || etag
    if (r.status >= 500) serverErrors.add(1)
    if (r.status === 0) connectionErrors.add(1)
    sleep(0.2 + Math.random() * 0.3) // a countdown page polls a few times a second
  }
  let i = 0
  while (Date.now() < deadline) {
    const sent = Date.now()
    const r = http.post(`${base}/api/v1/sales/${SALE_ID}/orders`, '{"quantity":1}', {
      headers: { ...auth, 'content-type': 'application/json', 'idempotency-key': uuid() },
    })
    const d = r.timings.duration
    if (r.status === 201) {
      lat201.add(d)
      won.add(1)
      if (sent < STARTS_AT) earlyWins.add(1)
      return
    }
    if (r.status === 425) {
      lat425.add(d)
      tooEarly.add(1)
    } else if (r.status === 409) {
      lat409.add(d)
      const code = (r.json() || {}).code
      if (code === 'sold_out') {
        soldOut.add(1)
        // Units of failed or expired orders come back: the buyer leaves only once the page says so.
        const g = http.get(`${base}/api/v1/sales/${SALE_ID}`)
        polls.add(1)
        latGet.add(g.timings.duration)
        if (g.status !== 200 || (g.json() || {}).status !== 'live') return
        sleep(0.2)
        continue
      }
      overLimit.add(1)
    } else if (r.status >= 500) serverErrors.add(1)
    else if (r.status === 0) connectionErrors.add(1)
    else other.add(1)
    // Every 20th attempt the buyer looks at the sale (a real page polls while it retries).
    if (++i % 20 === 0) {
      const g = http.get(`${base}/api/v1/sales/${SALE_ID}`)
      polls.add(1)
      latGet.add(g.timings.duration)
      if (g.status === 200 && (g.json() || {}).status === 'sold_out') return
    }
  }
}

const metric = (data, name, stat) => data.metrics[name]?.values?.[stat] ?? 0

export function handleSummary(data) {
  const trend = (name) => ({
    count: metric(data, name, 'count'),
    p50: metric(data, name, 'med'),
    p95: metric(data, name, 'p(95)'),
    p99: metric(data, name, 'p(99)'),
    max: metric(data, name, 'max'),
  })
  const out = {
    won: metric(data, 'won', 'count'),
    tooEarly: metric(data, 'too_early', 'count'),
    soldOut: metric(data, 'sold_out', 'count'),
    overLimit: metric(data, 'over_limit', 'count'),
    serverErrors: metric(data, 'server_errors', 'count'),
    connectionErrors: metric(data, 'connection_errors', 'count'),
    startsAt: data.setup_data ? data.setup_data.startsAt : null,
    other: metric(data, 'other', 'count'),
    earlyWins: metric(data, 'early_wins', 'count'),
    polls: metric(data, 'polls', 'count'),
    latencyMs: { 425: trend('lat_425'), 201: trend('lat_201'), 409: trend('lat_409'), get: trend('lat_get') },
  }
  return { [__ENV.SUMMARY_FILE || 'sales-summary.json']: JSON.stringify(out, null, 2) }
}
