// `bun run bench:faults [--short]`: the fault suite of issue 18 in one command.
// Its own database (created, migrated, dropped) and redis-server on a free port; two API processes
// (ROLE=api) and a worker (ROLE=worker) against them. Per fault: a product with a few units, a
// crowd of buyers (each orders one unit and pays), the fault injected mid-sale (faults.ts), a
// bounded wait for the system to settle, then one row: sold / stock, 5xx, lost emails, lost
// payments, inventory:check. Prints the table, writes bench/results/faults.json (--short:
// faults-short.tmp.json) and exits 1 when a guarantee (faults.ts GUARANTEES) is broken.
// env: DATABASE_URL (server; default the local one), FAULTS (comma-separated subset of fault ids),
// FAULT_STOCK, FAULT_BUYERS, FAULT_SETTLE_MS, FAULT_TAIL_MS (how long buyers go on after a fault
// before stranded units count as stranded), FAULT_KEEP_LOGS=1 (keep the processes' logs, as after a
// failure).
import { resolve } from 'node:path'
import { lostEmails, lostPayments, settle } from './audit'
import { Balancer, runSale, Stats } from './buyers'
import { Proc, provision } from './cluster'
import { broken, FAULTS, type FaultCtx, type Probe, type Progress, type Row } from './faults'
import { slowSmtp } from './smtp'
import { printTable } from './table'

const args = process.argv.slice(2)
const short = args.includes('--short')
const num = (k: string, d: number) => (Number(process.env[k]) > 0 ? Number(process.env[k]) : d)
const P = {
  stock: num('FAULT_STOCK', short ? 12 : 50),
  buyers: num('FAULT_BUYERS', short ? 40 : 150),
  /** a fault whose moment has not come by then strikes anyway (the row says so) */
  whenLimitMs: 10_000,
  downMs: short ? 1000 : 2000,
  holdMs: short ? 4000 : 8000,
  // Longer than a dead process's gate lease (INVENTORY_GATE_LEASE_MS, 5 s) and than the check that
  // notices an emptied Redis (REDIS_EPOCH_CHECK_MS, 5 s) plus the re-enqueued work (~12 s measured).
  tailMs: num('FAULT_TAIL_MS', short ? 10_000 : 15_000),
  settleMs: num('FAULT_SETTLE_MS', short ? 25_000 : 60_000),
  /** a payment still being retried this long after the sale is given up */
  payGraceMs: 15_000,
  // Enough for a sale's emails to queue up in Redis (5 sends at a time per worker).
  smtpDelayMs: short ? 100 : 250,
}
const only = process.env.FAULTS?.split(',').map((s) => s.trim())
const faults = only ? FAULTS.filter((f) => only.includes(f.id)) : FAULTS
if (faults.length === 0) throw new Error(`FAULTS=${process.env.FAULTS}: no such fault (${FAULTS.map((f) => f.id).join(', ')})`)

const started = Date.now()
const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
// Mail goes to a slow SMTP sink: a sale's emails queue up in Redis, where the Redis faults hit them.
const smtp = slowSmtp(P.smtpDelayMs)
const cluster = await provision(serverUrl, runId, smtp.url)
// The app modules read config at import: point them at our database before importing them.
Object.assign(process.env, {
  DATABASE_URL: cluster.dbUrl,
  REDIS_URL: cluster.redis.url,
  JWT_SECRET: cluster.jwtSecret,
  LOG_LEVEL: 'silent',
  DATABASE_POOL_MAX: '3',
})
const { sql, db } = await import('../../src/infra/db')
const { signAccessToken } = await import('../../src/plugins/auth')
const { createInventory } = await import('../../src/modules/inventory/service')
const { products } = await import('../../db/schema')

const procs: Proc[] = []
const proc = (name: string, role: 'api' | 'worker', extra: Record<string, string> = {}) => {
  const p = new Proc(name, role, () => cluster.appEnv(extra), cluster.logDir)
  procs.push(p)
  return p
}
let failed = false
async function teardown() {
  await Promise.all(procs.map((p) => p.stop()))
  await sql.end({ timeout: 5 }).catch(() => {})
  const keep = failed || process.env.FAULT_KEEP_LOGS === '1'
  await cluster.teardown(keep)
  smtp.stop()
  if (keep) console.log(`process logs kept in ${cluster.logDir}`)
}
process.on('SIGINT', () => void teardown().then(() => process.exit(130)))

async function progressOf(productIds: string[], t0: number, stats: Stats): Promise<Progress> {
  const [r] = await sql<Omit<Progress, 'ms'>[]>`
    with o as (select o.id, o.status, i.quantity from order_items i join orders o on o.id = i.order_id where i.product_id in ${sql(productIds)})
    select coalesce(sum(quantity) filter (where status not in ('cancelled', 'expired')), 0)::int as sold,
      (select count(*)::int from payments p where p.status = 'pending' and p.order_id in (select id from o)) as "pendingPayments",
      (select count(*)::int from payments p where p.status = 'pending' and p.attempts > 0 and p.order_id in (select id from o)) as retrying,
      (select count(*)::int from outbox_events e where e.type = 'order.created' and e.published_at is not null
        and e.aggregate_id in (select id from o) and not exists (select 1 from mail_log m where m.order_id = e.aggregate_id
        and m.kind = 'order_confirmation' and m.status in ('sent', 'logged'))) as "queuedEmails"
    from o`
  const refused = stats.answers.get('order 409 out_of_stock') ?? 0
  return { sold: 0, pendingPayments: 0, retrying: 0, queuedEmails: 0, ...r, refused, buyers: P.buyers, ms: Date.now() - t0 }
}

async function soldOf(productIds: string[]): Promise<number> {
  const [r] = await sql<{ n: number }[]>`
    select coalesce(sum(i.quantity), 0)::int as n from order_items i join orders o on o.id = i.order_id
    where i.product_id in ${sql(productIds)} and o.status not in ('cancelled', 'expired')`
  return r?.n ?? 0
}

async function newProduct(stock: number): Promise<string> {
  return db.transaction(async (tx) => {
    const [p] = await tx
      .insert(products)
      .values({ name: `Fault sale ${Bun.randomUUIDv7().slice(-6)}`, priceCents: 1999 })
      .returning()
    if (!p) throw new Error('product insert failed')
    await createInventory(tx, p.id, stock)
    return p.id
  })
}

const rows: Row[] = []
try {
  const ids = await sql<{ id: string }[]>`
    insert into users (id, email, name, password_hash, role)
    select gen_random_uuid(), 'buyer' || g || '@faults.test', 'Buyer ' || g, 'not-a-login', 'customer'
    from generate_series(1, ${P.buyers}) g returning id`
  // Token version 0 (a new user's), for the signature that carries one; an older one ignores it.
  const sign = signAccessToken as (id: string, role: 'customer', ver: number) => Promise<string>
  const tokens = await Promise.all(ids.map((u) => sign(u.id, 'customer', 0)))
  const worker = proc('worker', 'worker')
  const apis: [Proc, Proc] = [proc('api-a', 'api'), proc('api-b', 'api')]
  const small = proc('api-pool2', 'api', { DATABASE_POOL_MAX: '2' })
  await Promise.all([worker.start(), ...apis.map((a) => a.start())])
  console.log(`setup: ${P.buyers} buyers, 2 APIs + worker in ${((Date.now() - started) / 1000).toFixed(1)} s (logs: ${cluster.logDir})`)

  for (const fault of faults) {
    const productIds = await Promise.all(Array.from({ length: fault.products ?? 1 }, () => newProduct(P.stock)))
    const stock = P.stock * productIds.length
    const balancer = new Balancer(apis.map((a) => a.url))
    const probes: Probe[] = []
    const ctx: FaultCtx = {
      sql,
      redis: cluster.redis,
      apis,
      worker,
      balancer,
      productIds,
      smallPool: () => small,
      downMs: P.downMs,
      holdMs: P.holdMs,
      probes,
    }
    const mailBefore = smtp.messageIds().length
    await fault.before?.(ctx)
    const stats = new Stats()
    let over = false
    let saleEnd = Number.POSITIVE_INFINITY
    const t0 = Date.now()
    const sale = runSale({
      balancer,
      tokens,
      productIds,
      stats,
      over: () => over,
      payDeadline: () => saleEnd + P.payGraceMs,
      // Half the buyers pay with a card that fails twice first: charge jobs wait in Redis to retry.
      method: (i) => (i % 2 ? 'pm_card_flaky' : 'pm_card_ok'),
    })
    let error: string | null = null
    let at: (Progress & { late: boolean }) | null = null
    try {
      let p = await progressOf(productIds, t0, stats)
      while (!fault.when(p, stock) && p.ms < P.whenLimitMs) p = await progressOf(productIds, t0, stats)
      at = { ...p, late: !fault.when(p, stock) }
      await fault.inject(ctx)
    } catch (err) {
      error = String((err as Error).message ?? err)
    }
    const faultOver = Date.now()
    while (Date.now() - faultOver < P.tailMs && (await soldOf(productIds)) < stock) await Bun.sleep(200)
    over = true
    saleEnd = Date.now()
    await sale
    await fault.after?.(ctx).catch((err) => {
      error ??= String((err as Error).message ?? err)
    })
    const s = await settle(sql, productIds, P.settleMs)
    const a = s.audit
    const ids = smtp.messageIds()
    const fresh = ids.slice(mailBefore)
    const dupEmails = fresh.length - new Set(fresh).size
    const dupEmailIds = [...new Set(fresh.filter((id, i) => fresh.indexOf(id) !== i))]
    const allowed = stats.fiveXx.filter((x) => x.status === 503 && fault.allow503?.(x.route))
    const row: Row = {
      fault: fault.id,
      stock,
      sold: a.sold,
      fiveXx: stats.fiveXx.length - allowed.length,
      allowed503: allowed.length,
      connErrors: stats.connErrors,
      timeouts: stats.timeouts,
      maxMs: Math.round(stats.maxMs),
      lostEmails: lostEmails(a),
      lostPayments: lostPayments(a),
      dupEmails,
      ledgerMismatches: a.ledgerMismatches,
      probeMaxMs: probes.length ? Math.max(...probes.map((p) => p.ms)) : null,
      settleMs: s.ms,
      saleMs: saleEnd - t0,
      what: fault.what,
      // When the fault struck (ms after the crowd arrived, sold, charges pending).
      struck: at,
      audit: a,
      buyersSaw201: stats.ordered.size,
      buyersPaid202: stats.paid,
      // Orders in Postgres no buyer saw a 201 for (a cut connection, or a retry told "sold out").
      ordersUnseen: a.orders - stats.ordered.size,
      soldOutAfterRetry: stats.soldOutAfterRetry.size,
      dupEmailIds,
      answers: Object.fromEntries([...stats.answers].sort()),
      probes,
      ...(error ? { error } : {}),
    }
    if (error) failed = true
    rows.push(row)
    const bad = broken(row)
    console.log(
      `${fault.id}: sold ${row.sold}/${row.stock}, 5xx ${row.fiveXx}, lost emails ${row.lostEmails}, lost payments ${row.lostPayments}, ` +
        `ledger ${row.ledgerMismatches ? `${row.ledgerMismatches} mismatches` : 'ok'} (struck at ${at?.ms} ms: sold ${at?.sold}, charges pending ${at?.pendingPayments}${at?.late ? ', LATE' : ''})` +
        `${bad.length ? ` — broken: ${bad.map((g) => g.id).join(', ')}` : ''}${error ? ` — error: ${error}` : ''}`,
    )
  }
} catch (err) {
  console.error(err)
  failed = true
}

const failures = rows.flatMap((r) => broken(r).map((g) => `${r.fault}: ${g.id}`))
if (failures.length) failed = true
await teardown()
if (rows.length) {
  printTable(rows)
  // The short form's file is not kept (CI runs it on every change); the full form's is the record.
  const out = resolve(import.meta.dir, '../results', short ? 'faults-short.tmp.json' : 'faults.json')
  const result = {
    when: new Date().toISOString(),
    short,
    params: P,
    machine: { cpus: navigator.hardwareConcurrency },
    rows,
    failures,
  }
  await Bun.write(out, `${JSON.stringify(result, null, 2)}\n`)
  console.log(`wrote ${out}`)
}
console.log(
  `${failures.length ? `FAIL: ${failures.join('; ')}` : failed ? 'FAIL (see above)' : 'all enforced guarantees held'} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
)
process.exit(failed ? 1 : 0)
