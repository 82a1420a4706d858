// `bun run eval:risk`: offline quality of the fraud scorer on the seeded day of checkout traffic
// (`bun run db:seed` plants card testing, account takeovers and bot rings; labels in
// DATA_DIR/seed-risk-labels.json). The day is replayed in time order through the real feature
// store (Redis, a scratch key prefix, the spending moments rebuilt from the history before the day)
// and the real scorer with the configured rules: each checkout is scored as at checkout, and
// re-scored on each of its payment outcomes. An order counts as flagged when any of its scores
// reaches the review threshold. Metrics are reported on a held-out 30 % of customers (the baseline
// rule's k is chosen on the other 70 %): precision, recall and PR-AUC (average precision), the share
// of normal orders held, against the baseline "amount > k × shop median". Writes
// bench/results/risk-eval.json.
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    out: { type: 'string', default: 'bench/results/risk-eval.json' },
    'held-out': { type: 'string', default: '0.3' },
    /** write every order's label, best score and its reasons here (JSON lines), to see what was missed */
    cases: { type: 'string' },
  },
})
// A private key prefix: the replay writes its own windows and never touches the app's keys.
process.env.REDIS_PREFIX = `stampede-eval-risk-${process.pid}`
const { config } = await import('../src/config')
const { resolveInfra, stopEmbedded } = await import('../src/infra/embedded')
await resolveInfra()
const { sql, closeDb } = await import('../src/infra/db')
const { redis, closeRedis, deleteByPrefix } = await import('../src/infra/redis')
const { rebuildMoments, recordPayment, redisFeatures } = await import('../src/modules/risk/features')
const { getRules } = await import('../src/modules/risk/rules')
const { scoreOrder } = await import('../src/modules/risk/score')

const t0 = performance.now()
const labelsFile = Bun.file(`${config.DATA_DIR}/seed-risk-labels.json`)
if (!(await labelsFile.exists())) {
  console.error(`no ${labelsFile.name}: run \`bun run db:seed\` first`)
  process.exit(1)
}
const planted = (await labelsFile.json()) as { window: { start: string; end: string }; labels: Record<string, string> }
const r = redis()
if (!r) throw new Error('eval:risk needs Redis')
await new Promise<void>((ok) => (r.status === 'ready' ? ok() : r.once('ready', () => ok())))
// The replay's keys go even when it fails half-way.
process.on('uncaughtException', async (err) => {
  console.error(err)
  await deleteByPrefix(r, config.REDIS_PREFIX).catch(() => {})
  process.exit(2)
})
const rules = await getRules()
const start = new Date(planted.window.start)

type O = { id: string; user: string; ip: string | null; amount: number; quantity: number; currency: string; at: number }
type P = { paymentId: string; orderId: string; method: string; outcome: 'failed' | 'succeeded'; at: number }
const orders = await sql<O[]>`
  select order_id as id, user_id as user, ip, amount_cents::float8 as amount, quantity, currency,
         (extract(epoch from created_at) * 1000)::float8 as at
  from order_risk where created_at >= ${planted.window.start} and created_at < ${planted.window.end} order by created_at, order_id`
const pays = await sql<P[]>`
  select payment_id as "paymentId", order_id as "orderId", method, outcome, (extract(epoch from at) * 1000)::float8 as at
  from risk_payment_events where at >= ${planted.window.start} order by at, payment_id`
const [shop] = await sql<{ median: number }[]>`
  select (percentile_cont(0.5) within group (order by amount_cents))::float8 as median
  from order_risk where paid_at is not null and created_at < ${planted.window.start}`
const median = shop?.median ?? 1
await rebuildMoments(r, start)

// Replay: checkouts and payment outcomes merged in time order (a checkout before its payments).
const byId = new Map(orders.map((o) => [o.id, o]))
type Ev = { at: number; kind: 0 | 1; o: O; p?: P }
const events: Ev[] = orders.map((o) => ({ at: o.at, kind: 0 as const, o }))
for (const p of pays) {
  const o = byId.get(p.orderId)
  if (o) events.push({ at: p.at, kind: 1, o, p })
}
events.sort((a, b) => a.at - b.at || a.kind - b.kind)
const score = new Map<string, number>()
const why = new Map<string, string>()
const atCheckout = new Map<string, number>()
for (const e of events) {
  const q = { userId: e.o.user, ip: e.o.ip, currency: e.o.currency, orderId: e.o.id, nowMs: e.at, record: e.kind === 0 }
  const paid = e.p
    ? await recordPayment(r, { ...e.p, userId: e.o.user, ip: e.o.ip, amountCents: e.o.amount, currency: e.o.currency, nowMs: e.at }, rules)
    : { newMethod: false }
  const f = await redisFeatures(r, q, rules)
  const s = scoreOrder(
    { ...f, newPaymentMethod: paid.newMethod },
    { amountCents: e.o.amount, quantity: e.o.quantity },
    rules,
    e.p ? (e.p.outcome === 'succeeded' ? 'payment_succeeded' : 'payment_failed') : 'checkout',
  )
  if (!e.p) atCheckout.set(e.o.id, s.score)
  if (s.score >= (score.get(e.o.id) ?? 0)) {
    score.set(e.o.id, s.score)
    if (values.cases) why.set(e.o.id, s.reasons.map((x) => `${x.code}:${x.weight}`).join(' '))
  }
}

// Held-out customers: a stable hash of the user id.
const fnv = (s: string) => {
  let h = 2166136261
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  return (h >>> 0) / 2 ** 32
}
const heldOutShare = Number(values['held-out'])
type Case = { y: 0 | 1; s: number; checkout: number; base: number; pattern: string }
const test: Case[] = []
const train: Case[] = []
for (const o of orders) {
  const c: Case = {
    y: planted.labels[o.id] ? 1 : 0,
    s: score.get(o.id) ?? 0,
    checkout: atCheckout.get(o.id) ?? 0,
    base: o.amount / median,
    pattern: planted.labels[o.id] ?? 'normal',
  }
  ;(fnv(o.user) < heldOutShare ? test : train).push(c)
}

/** Average precision (area under the precision-recall curve), ties taken together. */
function prAuc(cases: Case[], key: 's' | 'base'): number {
  const sorted = [...cases].sort((a, b) => b[key] - a[key])
  const positives = cases.filter((c) => c.y).length
  let tp = 0
  let fp = 0
  let ap = 0
  for (let i = 0; i < sorted.length; ) {
    const v = sorted[i]![key]
    let dtp = 0
    while (i < sorted.length && sorted[i]![key] === v) {
      if (sorted[i]!.y) dtp++
      else fp++
      i++
    }
    tp += dtp
    if (dtp) ap += (dtp / positives) * (tp / (tp + fp))
  }
  return positives ? ap : 0
}
function at(cases: Case[], flagged: (c: Case) => boolean) {
  let tp = 0
  let fp = 0
  let fn = 0
  for (const c of cases) {
    const f = flagged(c)
    if (f && c.y) tp++
    else if (f) fp++
    else if (c.y) fn++
  }
  const precision = tp + fp ? tp / (tp + fp) : 0
  const recall = tp + fn ? tp / (tp + fn) : 0
  return { precision, recall, f1: precision + recall ? (2 * precision * recall) / (precision + recall) : 0 }
}
const ks = [1.5, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 30]
const k = ks.reduce((best, x) => (at(train, (c) => c.base > x).f1 > at(train, (c) => c.base > best).f1 ? x : best), ks[0]!)
const review = rules.reviewThreshold
const ours = at(test, (c) => c.s >= review)
const base = at(test, (c) => c.base > k)
const normals = test.filter((c) => !c.y)
const round = (x: number) => Math.round(x * 10000) / 10000
const perPattern = Object.fromEntries(
  ['card_testing', 'account_takeover', 'bot_ring'].map((p) => {
    const cs = test.filter((c) => c.pattern === p)
    return [p, { orders: cs.length, recall: round(cs.filter((c) => c.s >= review).length / Math.max(1, cs.length)) }]
  }),
)
const result = {
  prAuc: round(prAuc(test, 's')),
  precision: round(ours.precision),
  recall: round(ours.recall),
  normalHeldShare: round(normals.filter((c) => c.s >= review).length / Math.max(1, normals.length)),
  baseline: { prAuc: round(prAuc(test, 'base')), precision: round(base.precision), recall: round(base.recall) },
  details: {
    rule: `amount > k × shop median, k = ${k} (chosen on the other ${Math.round((1 - heldOutShare) * 100)} %), shop median ${(median / 100).toFixed(2)}`,
    reviewThreshold: review,
    blockThreshold: rules.blockThreshold,
    rulesVersion: rules.version,
    heldOut: { orders: test.length, fraud: test.length - normals.length, normal: normals.length },
    normalHeldAtCheckoutShare: round(normals.filter((c) => c.checkout >= review).length / Math.max(1, normals.length)),
    normalBlockedShare: round(normals.filter((c) => c.checkout >= rules.blockThreshold).length / Math.max(1, normals.length)),
    perPattern,
    replayedEvents: events.length,
    seconds: Math.round(performance.now() - t0) / 1000,
  },
}
const pct = (x: number) => `${(x * 100).toFixed(1)} %`
console.log(
  `\nRisk scoring on the seeded day, held-out ${result.details.heldOut.orders} orders (${result.details.heldOut.fraud} planted fraud)\n`,
)
console.log(`${'method'.padEnd(44)} ${'PR-AUC'.padStart(7)} ${'precision'.padStart(10)} ${'recall'.padStart(8)}`)
console.log(
  `${`risk scorer (review ≥ ${review})`.padEnd(44)} ${result.prAuc.toFixed(3).padStart(7)} ${pct(result.precision).padStart(10)} ${pct(result.recall).padStart(8)}`,
)
console.log(
  `${`baseline: amount > ${k} × shop median`.padEnd(44)} ${result.baseline.prAuc.toFixed(3).padStart(7)} ${pct(result.baseline.precision).padStart(10)} ${pct(result.baseline.recall).padStart(8)}`,
)
console.log(
  `\nnormal orders held: ${pct(result.normalHeldShare)} (at checkout ${pct(result.details.normalHeldAtCheckoutShare)}); recall by pattern: ${Object.entries(
    perPattern,
  )
    .map(([p, v]) => `${p} ${pct(v.recall)}`)
    .join(', ')}`,
)
const met = result.prAuc >= 0.8 && result.normalHeldShare <= 0.01
console.log(`target PR-AUC ≥ 0.8 and ≤ 1 % of normal orders held: ${met ? 'MET' : 'NOT MET'}`)
await Bun.write(values.out as string, `${JSON.stringify(result, null, 2)}\n`)
if (values.cases)
  await Bun.write(
    values.cases,
    orders
      .map((o) => JSON.stringify({ id: o.id, label: planted.labels[o.id] ?? 'normal', score: score.get(o.id), why: why.get(o.id) }))
      .join('\n'),
  )
console.log(`written ${values.out}`)
await deleteByPrefix(r, config.REDIS_PREFIX)
await closeRedis()
await closeDb()
await stopEmbedded()
process.exit(met ? 0 : 1)
