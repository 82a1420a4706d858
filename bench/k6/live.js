// Live feed fan-out: VUS admin WebSocket subscribers spread over the instances in BASE_URLS (comma
// separated); each records, for every `order.created` message marked bench, the delay from its
// publication (data.sentAt, same machine clock) to its arrival. The publisher is bench/live.ts.
// Env: BASE_URLS, TOKEN (admin bearer), VUS (1000), HOLD (most seconds a subscriber stays, 300),
// SUMMARY_FILE. Target (issue 22): p99 ≤ 250 ms.
import { check, sleep } from 'k6'
import http from 'k6/http'
import { Counter, Trend } from 'k6/metrics'
import { WebSocket } from 'k6/websockets'

const BASES = (__ENV.BASE_URLS || 'http://127.0.0.1:3000').split(',')
const VUS = Number(__ENV.VUS || 1000)
// The longest a subscriber stays; it leaves as soon as the publisher says `done`.
const HOLD = Number(__ENV.HOLD || 300)
const delivery = new Trend('delivery_ms', true)
const received = new Counter('bench_messages')
const opened = new Counter('ws_opened')

export const options = {
  scenarios: { subscribers: { executor: 'per-vu-iterations', vus: VUS, iterations: 1, maxDuration: `${HOLD + 60}s` } },
  summaryTrendStats: ['avg', 'med', 'p(95)', 'p(99)', 'max', 'count'],
}

export default function () {
  const base = BASES[__VU % BASES.length]
  // Arrivals spread over ~20 s (1,000 simultaneous connects overflow the accept backlog on a
  // loaded 2-core box), and a refused ticket request is retried.
  sleep((__VU % 1000) * 0.02)
  let r
  for (let i = 0; i < 10; i++) {
    r = http.post(`${base}/api/v1/admin/live/ticket`, null, { headers: { authorization: `Bearer ${__ENV.TOKEN}` } })
    if (r.status === 200) break
    sleep(1)
  }
  if (!check(r, { 'ticket 200': (x) => x.status === 200 })) return
  const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/admin/live?ticket=${r.json('ticket')}`)
  ws.onopen = () => {
    opened.add(1)
    setTimeout(() => ws.close(), HOLD * 1000)
  }
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data)
    if (m.type === 'order.created' && m.data && m.data.done) ws.close()
    else if (m.type === 'order.created' && m.data && m.data.bench) {
      delivery.add(Date.now() - m.data.sentAt)
      received.add(1)
    }
  }
}

export function handleSummary(data) {
  const v = (name) => (data.metrics[name] ? data.metrics[name].values : {})
  const d = v('delivery_ms')
  return {
    [__ENV.SUMMARY_FILE || 'live-summary.json']: JSON.stringify({
      opened: v('ws_opened').count || 0,
      messages: v('bench_messages').count || 0,
      deliveryMs: { p50: d.med ?? null, p95: d['p(95)'] ?? null, p99: d['p(99)'] ?? null, max: d.max ?? null },
      failedChecks: data.metrics.checks ? data.metrics.checks.values.fails : null,
    }),
  }
}
