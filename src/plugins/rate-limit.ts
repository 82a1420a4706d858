// Rate limiting as one named global plugin. Policies (RATE_LIMIT_* = "points/seconds"):
//   auth   POST /auth/* (login, register, refresh, password), per client IP (here); register and
//          password reset also per email, password change per user (auth controller)
//   login-failures  failed logins per (client IP, email), at the auth rate; a success resets it.
//          Never per email alone: wrong passwords sent from an attacker's IPs must not lock the
//          real user out. Guessing one password from many IPs is slowed by the per-IP limit and
//          Argon2id; a per-email cap would turn that into a lock-out anyone can trigger.
//   write  other non-GET requests, per user when a valid bearer token is present, else per IP
//   read   GET/HEAD, keyed the same way
// Store: rate-limiter-flexible's RateLimiterRedis — one atomic Lua INCR+PEXPIRE per decision, so
// every API process shares one fixed-window counter per key. Its insurance RateLimiterMemory takes
// over the moment the fail-fast Redis client is not ready or a command fails, so a dead Redis
// costs no latency and no 5xx; the price is that during an outage each process counts alone
// (limits become per-process). Fixed windows allow a burst of up to 2× at a window edge; we accept
// that for one round trip per request (GCRA would need a custom script for the same guarantee).
// Responses carry draft-ietf-httpapi-ratelimit-headers fields:
//   RateLimit-Policy: "read";q=600;w=60      RateLimit: "read";r=599;t=42
import { Elysia } from 'elysia'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'
import { config, parseRate } from '../config'
import { counter } from '../infra/metrics'
import { key, redis } from '../infra/redis'
import { clientIp } from '../lib/client-ip'
import { RateLimitedError } from '../lib/errors'
import { verifyAccessToken } from './auth'

export type RatePolicy = 'auth' | 'auth-email' | 'login-failures' | 'write' | 'read'

const rejections = counter('rate_limit_rejections_total', 'Requests answered 429, by policy', ['policy'])

// Parsed once: consume() runs on every request.
const RATES: Record<RatePolicy, { points: number; duration: number }> = {
  auth: parseRate(config.RATE_LIMIT_AUTH),
  'auth-email': parseRate(config.RATE_LIMIT_AUTH),
  'login-failures': parseRate(config.RATE_LIMIT_AUTH),
  write: parseRate(config.RATE_LIMIT_WRITE),
  read: parseRate(config.RATE_LIMIT_READ),
}

type Limiter = RateLimiterRedis | RateLimiterMemory
const limiters = new Map<RatePolicy, Limiter>()

/** Built on first use: RateLimiterRedis defines its Lua command on the client at construction. */
function limiterFor(policy: RatePolicy): Limiter {
  let l = limiters.get(policy)
  if (!l) {
    const { points, duration } = RATES[policy]
    const keyPrefix = key('rate', policy)
    const memory = new RateLimiterMemory({ keyPrefix, points, duration })
    const client = redis()
    l = client
      ? new RateLimiterRedis({ storeClient: client, keyPrefix, points, duration, rejectIfRedisNotReady: true, insuranceLimiter: memory })
      : memory
    limiters.set(policy, l)
  }
  return l
}

/** Consumes one point of `policy` for `subject`; throws RateLimitedError (with headers) when over. */
async function consume(policy: RatePolicy, subject: string, headers: Record<string, unknown>): Promise<void> {
  const { points, duration } = RATES[policy]
  let res: RateLimiterRes
  let allowed = true
  try {
    res = await limiterFor(policy).consume(subject)
  } catch (e) {
    // Only a RateLimiterRes means "over the limit"; with the memory insurance, store errors never
    // reach here, but if one does the request is allowed rather than failed.
    if (!(e instanceof RateLimiterRes)) return
    res = e
    allowed = false
  }
  const remaining = Math.max(0, res.remainingPoints)
  const resetSeconds = Math.max(0, Math.ceil(res.msBeforeNext / 1000))
  appendItem(headers, 'ratelimit-policy', `"${policy}";q=${points};w=${duration}`)
  appendItem(headers, 'ratelimit', `"${policy}";r=${remaining};t=${resetSeconds}`)
  if (!allowed) {
    rejections.inc({ policy })
    throw new RateLimitedError(Math.max(1, resetSeconds), {
      'RateLimit-Policy': String(headers['ratelimit-policy']),
      RateLimit: String(headers.ratelimit),
    })
  }
}

/** Structured-field lists: a second policy on the same response is appended as another item. */
function appendItem(headers: Record<string, unknown>, name: string, item: string): void {
  const prev = headers[name]
  headers[name] = typeof prev === 'string' && prev ? `${prev}, ${item}` : item
}

/** Emails become a short hash in Redis keys: no personal data in the limiter's keyspace. */
function emailSubject(email: string): string {
  return `email:${new Bun.CryptoHasher('sha256').update(email).digest('hex').slice(0, 32)}`
}

/** The per-email half of the `auth` policy; the auth controller calls it once the body is parsed,
 * with the email already normalised (normalizeEmail). */
export async function limitAuthEmail(email: string, headers: Record<string, unknown>): Promise<void> {
  if (!config.RATE_LIMIT_ENABLED) return
  await consume('auth-email', emailSubject(email), headers)
}

/** The per-user half of the `auth` policy (password change: guesses of the current password). */
export async function limitAuthUser(userId: string, headers: Record<string, unknown>): Promise<void> {
  if (!config.RATE_LIMIT_ENABLED) return
  await consume('auth-email', `user:${userId}`, headers)
}

const loginSubject = (ip: string, email: string) => `${ip}|${emailSubject(email)}`

/**
 * Counts a login attempt for (IP, email) before the password is checked, so parallel guesses
 * cannot overshoot; 429 once that pair has used its failures. Call loginSucceeded afterwards.
 */
export async function limitLogin(ip: string, email: string, headers: Record<string, unknown>): Promise<void> {
  if (!config.RATE_LIMIT_ENABLED) return
  await consume('login-failures', loginSubject(ip, email), headers)
}

/** A correct password: the pair's count starts over (only failures accumulate). */
export async function loginSucceeded(ip: string, email: string): Promise<void> {
  if (!config.RATE_LIMIT_ENABLED) return
  await limiterFor('login-failures')
    .delete(loginSubject(ip, email))
    .catch(() => undefined)
}

const AUTH_PATHS = new Set([
  '/api/v1/auth/login',
  '/api/v1/auth/register',
  '/api/v1/auth/refresh',
  '/api/v1/auth/password',
  '/api/v1/auth/password-reset',
  '/api/v1/auth/password-reset/confirm',
])
const EXEMPT = /^\/(health|ready|metrics|swagger)(\/|$)/

async function subjectOf(request: Request, ip: string): Promise<string> {
  const authorization = request.headers.get('authorization')
  if (authorization) {
    // Signature only: a revoked but well-signed token still names its user (no lookup per request).
    const user = await verifyAccessToken(authorization).catch(() => null)
    if (user) return `user:${user.id}`
  }
  return `ip:${ip}`
}

function policyOf(method: string, path: string): RatePolicy {
  if (method === 'POST' && AUTH_PATHS.has(path)) return 'auth'
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write'
}

/** The policy a request to `path` is counted under, or null when exempt (the OpenAPI document's 429s). */
export function ratePolicyFor(method: string, path: string): RatePolicy | null {
  return method === 'OPTIONS' || EXEMPT.test(path) ? null : policyOf(method, path)
}

export const rateLimitPlugin = new Elysia({ name: 'rate-limit' }).onRequest(async ({ request, set, server }) => {
  if (!config.RATE_LIMIT_ENABLED || request.method === 'OPTIONS') return
  const url = request.url
  const q = url.indexOf('?', 8)
  const path = url.slice(url.indexOf('/', 8), q === -1 ? undefined : q).replace(/(.)\/$/, '$1')
  if (EXEMPT.test(path)) return
  const policy = policyOf(request.method, path)
  const ip = clientIp(server, request)
  // Auth endpoints are keyed by IP even with a token: they are how tokens are obtained.
  const subject = policy === 'auth' ? `ip:${ip}` : await subjectOf(request, ip)
  await consume(policy, subject, set.headers as Record<string, unknown>)
})
