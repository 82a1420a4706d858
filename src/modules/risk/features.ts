// Risk features, kept incrementally in Redis (sliding windows as sorted sets, running moments of
// ln(amount) as hashes) and read in ONE script call per checkout, which also records the attempt.
// The tables in db/schema/risk.ts are the source of truth: when Redis is down the same features
// come from one Postgres query (scoring marked degraded), and rebuildMoments() refills Redis.

import { sql as dsql } from 'drizzle-orm'
import type Redis from 'ioredis'
import { db } from '../../infra/db'
import { key, withRedis } from '../../infra/redis'
import { withTimeout } from '../../lib/timeout'
import type { RiskRules, WindowCode } from './model'
import type { Features, Moments } from './score'

/** Sorted sets keep this much history (the longest window any rule may use is 30 days; most are minutes). */
const KEY_TTL_SECONDS = 7 * 86400

const CHECKOUT = `
local now = tonumber(ARGV[1])
local keep = now - tonumber(ARGV[12]) * 1000
local ttl = tonumber(ARGV[13])
local record = ARGV[14] == '1'
local function since(w) return now - tonumber(w) * 1000 end
local function add(k, member)
  redis.call('ZADD', k, now, member)
  redis.call('ZREMRANGEBYSCORE', k, '-inf', keep)
  redis.call('EXPIRE', k, ttl)
end
if record then add(KEYS[1], ARGV[2]) end
local uo = redis.call('ZCOUNT', KEYS[1], since(ARGV[5]), '+inf')
local io, ia, ipf, ina, newip = -1, -1, -1, -1, 0
if ARGV[4] == '1' then
  if record then
    add(KEYS[2], ARGV[2]); add(KEYS[3], ARGV[3])
    if ARGV[15] == '1' then add(KEYS[9], ARGV[3]) end
  end
  io = redis.call('ZCOUNT', KEYS[2], since(ARGV[6]), '+inf')
  ia = redis.call('ZCOUNT', KEYS[3], since(ARGV[7]), '+inf')
  ipf = redis.call('ZCOUNT', KEYS[5], since(ARGV[9]), '+inf')
  ina = redis.call('ZCOUNT', KEYS[9], since(ARGV[16]), '+inf')
  -- An address none of this customer's paid orders came from (first seen at least the trust age
  -- ago: one paid order must not whitelist an attacker's address), when some did.
  local trusted = now - tonumber(ARGV[18]) * 1000
  local seen = redis.call('ZSCORE', KEYS[10], ARGV[17])
  if (not seen or tonumber(seen) > trusted) and redis.call('ZCOUNT', KEYS[10], '-inf', trusted) > 0 then newip = 1 end
end
local uf = redis.call('ZCOUNT', KEYS[4], since(ARGV[8]), '+inf')
local ct = redis.call('ZCOUNT', KEYS[4], since(ARGV[11]), '+inf')
local um = redis.call('ZCOUNT', KEYS[6], since(ARGV[10]), '+inf')
local ua = redis.call('HMGET', KEYS[7], 'n', 'mean', 'm2')
local sa = redis.call('HMGET', KEYS[8], 'n', 'mean', 'm2')
return {uo, io, ia, uf, ipf, um, ct, ua[1], ua[2], ua[3], sa[1], sa[2], sa[3], ina, newip}`

// Welford's update of (n, mean, m2); floats travel as strings (Lua numbers become integers in replies).
const PAYMENT = `
local now = tonumber(ARGV[1])
local keep = now - tonumber(ARGV[6]) * 1000
local ttl = tonumber(ARGV[7])
local function add(k, member)
  redis.call('ZADD', k, now, member)
  redis.call('ZREMRANGEBYSCORE', k, '-inf', keep)
  redis.call('EXPIRE', k, ttl)
end
local function welford(k, x)
  local v = redis.call('HMGET', k, 'n', 'mean', 'm2')
  local n = tonumber(v[1] or '0') + 1
  local mean = tonumber(v[2] or '0')
  local m2 = tonumber(v[3] or '0')
  local d = x - mean
  mean = mean + d / n
  m2 = m2 + d * (x - mean)
  redis.call('HSET', k, 'n', n, 'mean', string.format('%.17g', mean), 'm2', string.format('%.17g', m2))
end
if ARGV[4] == 'failed' then
  add(KEYS[1], ARGV[2])
  if ARGV[5] == '1' then add(KEYS[2], ARGV[2]) end
end
add(KEYS[3], ARGV[3])
-- A method this customer had not used before the trust age, when they had used others then.
-- Known sets keep the FIRST use (ZADD NX): trust comes with age, not with the latest use.
local trusted = now - tonumber(ARGV[10]) * 1000
local seen = redis.call('ZSCORE', KEYS[7], ARGV[3])
local newmethod = 0
if (not seen or tonumber(seen) > trusted) and redis.call('ZCOUNT', KEYS[7], '-inf', trusted) > 0 then newmethod = 1 end
if ARGV[4] == 'succeeded' then
  redis.call('ZADD', KEYS[7], 'NX', now, ARGV[3]); redis.call('EXPIRE', KEYS[7], 400 * 86400)
  if ARGV[5] == '1' then redis.call('ZADD', KEYS[8], 'NX', now, ARGV[9]); redis.call('EXPIRE', KEYS[8], 400 * 86400) end
end
if ARGV[4] == 'succeeded' and redis.call('SET', KEYS[6], '1', 'NX', 'EX', ttl) then
  local x = tonumber(ARGV[8])
  welford(KEYS[4], x)
  welford(KEYS[5], x)
  redis.call('EXPIRE', KEYS[4], 400 * 86400)
end
return newmethod`

type RiskRedis = Redis & {
  riskCheckout(...args: (string | number)[]): Promise<(number | string | null)[]>
  riskPayment(...args: (string | number)[]): Promise<number>
}
const defined = new WeakSet<Redis>()
function client(r: Redis): RiskRedis {
  if (!defined.has(r)) {
    r.defineCommand('riskCheckout', { numberOfKeys: 10, lua: CHECKOUT })
    r.defineCommand('riskPayment', { numberOfKeys: 8, lua: PAYMENT })
    defined.add(r)
  }
  return r as RiskRedis
}

const k = {
  userOrders: (u: string) => key('risk', 'uo', u),
  ipOrders: (ip: string) => key('risk', 'io', ip),
  ipAccounts: (ip: string) => key('risk', 'ia', ip),
  userFails: (u: string) => key('risk', 'uf', u),
  ipFails: (ip: string) => key('risk', 'if', ip),
  userMethods: (u: string) => key('risk', 'um', u),
  userMoments: (u: string) => key('risk', 'ua', u),
  shopMoments: (currency: string) => key('risk', 'sa', currency),
  paid: (orderId: string) => key('risk', 'paid', orderId),
  ipNewAccounts: (ip: string) => key('risk', 'ina', ip),
  userIps: (u: string) => key('risk', 'uip', u),
  userKnownMethods: (u: string) => key('risk', 'upm', u),
}

/**
 * Account age without I/O: user ids are UUIDv7 minted at registration (db/schema/users.ts), whose
 * first 48 bits are the creation time in ms. null for any other id shape.
 */
export function accountCreatedMs(userId: string): number | null {
  if (userId[14] !== '7') return null
  return Number.parseInt(userId.slice(0, 8) + userId.slice(9, 13), 16)
}

const win = (rules: RiskRules, code: WindowCode) => rules.rules[code].windowSeconds

function maxWindow(rules: RiskRules): number {
  let m = 0
  for (const r of Object.values(rules.rules))
    if ('windowSeconds' in r && typeof r.windowSeconds === 'number') m = Math.max(m, r.windowSeconds)
  return m
}

const num = (v: unknown) => (v === null || v === undefined || v === false ? 0 : Number(v))
const moments = (n: unknown, mean: unknown, m2: unknown): Moments => ({ n: num(n), mean: num(mean), m2: num(m2) })

export type FeatureQuery = {
  userId: string
  ip: string | null
  currency: string
  /** the order being checked out (its attempt is recorded when `record`) */
  orderId: string
  nowMs: number
  record: boolean
}

function base(q: FeatureQuery): Pick<Features, 'accountAgeSeconds'> {
  const created = accountCreatedMs(q.userId)
  return { accountAgeSeconds: created === null ? null : Math.max(0, (q.nowMs - created) / 1000) }
}

/** One script call: records the checkout attempt (when asked) and returns every feature. */
export async function redisFeatures(r: Redis, q: FeatureQuery, rules: RiskRules): Promise<Features> {
  const ip = q.ip ?? '-'
  const v = await client(r).riskCheckout(
    k.userOrders(q.userId),
    k.ipOrders(ip),
    k.ipAccounts(ip),
    k.userFails(q.userId),
    k.ipFails(ip),
    k.userMethods(q.userId),
    k.userMoments(q.userId),
    k.shopMoments(q.currency),
    k.ipNewAccounts(ip),
    k.userIps(q.userId),
    q.nowMs,
    q.orderId,
    q.userId,
    q.ip ? '1' : '0',
    win(rules, 'velocity_customer_orders'),
    win(rules, 'velocity_ip_orders'),
    win(rules, 'ip_many_accounts'),
    win(rules, 'velocity_customer_failed_payments'),
    win(rules, 'velocity_ip_failed_payments'),
    win(rules, 'velocity_customer_payment_methods'),
    win(rules, 'card_testing'),
    maxWindow(rules),
    KEY_TTL_SECONDS,
    q.record ? '1' : '0',
    isNewAccount(q, rules) ? '1' : '0',
    win(rules, 'ip_new_accounts'),
    ip,
    win(rules, 'new_ip_for_customer'),
  )
  const ipNum = (x: unknown) => (q.ip ? num(x) : null)
  return {
    degraded: false,
    ...base(q),
    customerOrders: num(v[0]),
    ipOrders: ipNum(v[1]),
    ipAccounts: ipNum(v[2]),
    customerFailed: num(v[3]),
    ipFailed: ipNum(v[4]),
    customerMethods: num(v[5]),
    customerDeclines: num(v[6]),
    customer: moments(v[7], v[8], v[9]),
    shop: moments(v[10], v[11], v[12]),
    ipNewAccounts: ipNum(v[13]),
    newIp: num(v[14]) === 1,
    newPaymentMethod: false,
  }
}

/** Young enough to count among an address's new accounts (bot rings register just before a drop). */
function isNewAccount(q: FeatureQuery, rules: RiskRules): boolean {
  const created = accountCreatedMs(q.userId)
  return created !== null && q.nowMs - created < rules.rules.new_account.windowSeconds * 1000
}

/**
 * The same features from the source-of-truth tables (Redis down). One statement; counts include
 * the order being checked out, like the Redis windows do.
 */
export async function postgresFeatures(q: FeatureQuery, rules: RiskRules): Promise<Features> {
  const at = new Date(q.nowMs).toISOString()
  const ago = (code: WindowCode) => dsql`${at}::timestamptz - make_interval(secs => ${win(rules, code)})`
  const self = q.record ? 1 : 0
  const [row] = (await db.execute(dsql`
    select
      (select count(*) from order_risk where user_id = ${q.userId} and created_at > ${ago('velocity_customer_orders')} and order_id <> ${q.orderId})::int as uo,
      (select count(*) from order_risk where ip = ${q.ip} and created_at > ${ago('velocity_ip_orders')} and order_id <> ${q.orderId})::int as io,
      (select count(distinct user_id) from order_risk where ip = ${q.ip} and created_at > ${ago('ip_many_accounts')} and user_id <> ${q.userId})::int as ia,
      (select count(*) from risk_payment_events where user_id = ${q.userId} and outcome = 'failed' and at > ${ago('velocity_customer_failed_payments')})::int as uf,
      (select count(*) from risk_payment_events where ip = ${q.ip} and outcome = 'failed' and at > ${ago('velocity_ip_failed_payments')})::int as ipf,
      (select count(distinct method) from risk_payment_events where user_id = ${q.userId} and at > ${ago('velocity_customer_payment_methods')})::int as um,
      (select count(*) from risk_payment_events where user_id = ${q.userId} and outcome = 'failed' and at > ${ago('card_testing')})::int as ct,
      (exists (select 1 from order_risk where user_id = ${q.userId} and ip is not null and paid_at < ${ago('new_ip_for_customer')})
        and not exists (select 1 from order_risk where user_id = ${q.userId} and ip = ${q.ip} and paid_at < ${ago('new_ip_for_customer')})) as newip,
      u.n as un, u.mean as umean, u.m2 as um2, s.n as sn, s.mean as smean, s.m2 as sm2
    from
      (select count(*)::int as n, coalesce(avg(ln(greatest(amount_cents, 1))), 0)::float8 as mean,
              coalesce(var_samp(ln(greatest(amount_cents, 1))) * (count(*) - 1), 0)::float8 as m2
       from order_risk where user_id = ${q.userId} and paid_at is not null) u,
      (select count(*)::int as n, coalesce(avg(ln(greatest(amount_cents, 1))), 0)::float8 as mean,
              coalesce(var_samp(ln(greatest(amount_cents, 1))) * (count(*) - 1), 0)::float8 as m2
       from (select amount_cents from order_risk where paid_at is not null and currency = ${q.currency}
             order by created_at desc limit 5000) recent) s`)) as unknown as Record<string, number>[]
  const x = row ?? {}
  const ipNum = (v: unknown, plus: number) => (q.ip ? num(v) + plus : null)
  return {
    degraded: true,
    degradedDetail: 'Redis unavailable: features read from Postgres',
    ...base(q),
    customerOrders: num(x.uo) + self,
    ipOrders: ipNum(x.io, self),
    ipAccounts: ipNum(x.ia, 1),
    customerFailed: num(x.uf),
    ipFailed: ipNum(x.ipf, 0),
    customerMethods: num(x.um),
    customerDeclines: num(x.ct),
    customer: moments(x.un, x.umean, x.um2),
    shop: moments(x.sn, x.smean, x.sm2),
    // Account ages of an address's other customers are not kept in Postgres: unknown when degraded.
    ipNewAccounts: null,
    newIp: q.ip !== null && Boolean(x.newip),
    newPaymentMethod: false,
  }
}

/** Only what the order itself says (both stores down): nothing fires but the account-age rules. */
export function orderOnlyFeatures(q: FeatureQuery): Features {
  const zero: Moments = { n: 0, mean: 0, m2: 0 }
  return {
    degraded: true,
    degradedDetail: 'Redis and Postgres features unavailable: scored from the order alone',
    ...base(q),
    customer: zero,
    shop: zero,
    customerOrders: 1,
    customerFailed: 0,
    customerMethods: 0,
    customerDeclines: 0,
    ipOrders: null,
    ipFailed: null,
    ipAccounts: null,
    ipNewAccounts: null,
    newIp: false,
    newPaymentMethod: false,
  }
}

/** Redis first (bounded wait), then Postgres, then the order alone: features never fail a checkout. */
export async function gatherFeatures(q: FeatureQuery, rules: RiskRules, timeoutMs: number): Promise<Features> {
  const fromPg = () => withTimeout(postgresFeatures(q, rules), timeoutMs * 4).catch(() => orderOnlyFeatures(q))
  return withRedis((r) => withTimeout(redisFeatures(r, q, rules), timeoutMs), fromPg)
}

export type PaymentSignal = {
  paymentId: string
  userId: string
  ip: string | null
  orderId: string
  method: string
  outcome: 'failed' | 'succeeded'
  amountCents: number
  currency: string
  nowMs: number
}

/** Feeds one payment outcome into the Redis windows and (on success) the spending moments. Idempotent. */
export async function recordPayment(r: Redis, p: PaymentSignal, rules: RiskRules): Promise<{ newMethod: boolean }> {
  const ip = p.ip ?? '-'
  const newMethod = await client(r).riskPayment(
    k.userFails(p.userId),
    k.ipFails(ip),
    k.userMethods(p.userId),
    k.userMoments(p.userId),
    k.shopMoments(p.currency),
    k.paid(p.orderId),
    k.userKnownMethods(p.userId),
    k.userIps(p.userId),
    p.nowMs,
    p.paymentId,
    p.method,
    p.outcome,
    p.ip ? '1' : '0',
    maxWindow(rules),
    KEY_TTL_SECONDS,
    Math.log(Math.max(1, p.amountCents)),
    ip,
    win(rules, 'new_payment_method'),
  )
  return { newMethod: newMethod === 1 }
}

/**
 * Refills the spending moments (per customer and per currency) from order_risk — after Redis lost
 * its data, or to prime an evaluation. `before`: only orders paid before this instant.
 */
export async function rebuildMoments(r: Redis, before?: Date): Promise<{ customers: number }> {
  const cutoff = before ? dsql`and paid_at < ${before.toISOString()}::timestamptz` : dsql``
  const rows = (await db.execute(dsql`
    select coalesce(user_id::text, '*' || currency) as who, currency, count(*)::int as n,
           avg(ln(greatest(amount_cents, 1)))::float8 as mean,
           coalesce(var_samp(ln(greatest(amount_cents, 1))) * (count(*) - 1), 0)::float8 as m2
    from order_risk where paid_at is not null ${cutoff}
    group by grouping sets ((user_id, currency), (currency))`)) as unknown as {
    who: string
    currency: string
    n: number
    mean: number
    m2: number
  }[]
  let customers = 0
  for (let i = 0; i < rows.length; i += 1000) {
    const p = r.pipeline()
    for (const x of rows.slice(i, i + 1000)) {
      const k1 = x.who.startsWith('*') ? k.shopMoments(x.currency) : k.userMoments(x.who)
      if (!x.who.startsWith('*')) customers++
      p.hset(k1, 'n', x.n, 'mean', String(x.mean), 'm2', String(x.m2))
    }
    await p.exec()
  }
  const ips = (await db.execute(dsql`
    select user_id::text as who, ip, (extract(epoch from min(paid_at)) * 1000)::float8 as at from order_risk
    where ip is not null and paid_at is not null ${before ? dsql`and created_at < ${before.toISOString()}::timestamptz` : dsql``}
    group by user_id, ip
    union all
    select '#' || user_id::text, method, (extract(epoch from min(at)) * 1000)::float8 from risk_payment_events
    where outcome = 'succeeded' ${before ? dsql`and at < ${before.toISOString()}::timestamptz` : dsql``}
    group by user_id, method`)) as unknown as { who: string; ip: string; at: number }[]
  for (let i = 0; i < ips.length; i += 1000) {
    const p = r.pipeline()
    for (const x of ips.slice(i, i + 1000))
      p.zadd(x.who.startsWith('#') ? k.userKnownMethods(x.who.slice(1)) : k.userIps(x.who), x.at, x.ip)
    await p.exec()
  }
  return { customers }
}
