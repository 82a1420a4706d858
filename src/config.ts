// The only reader of process.env: every setting is declared, converted and validated here once,
// at boot, so a bad value stops the process with one line naming the variable.
import { type Static, Type as T, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'

const Int = (def: number, min: number, max: number, description: string) =>
  T.Integer({ default: def, minimum: min, maximum: max, description })
const Bool = (def: boolean, description: string) => T.Boolean({ default: def, description })
const Str = (def: string, description: string, extra: object = {}) => T.String({ default: def, description, ...extra })
const OptStr = (description: string, extra: object = {}) => T.Optional(T.String({ description, ...extra }))
/** "count/seconds", e.g. "10/60" = 10 requests a minute. */
const Rate = (def: string, description: string) => T.String({ default: def, pattern: '^[1-9][0-9]*/[1-9][0-9]*$', description })

export const ConfigSchema = T.Object({
  NODE_ENV: T.Union([T.Literal('development'), T.Literal('test'), T.Literal('production')], {
    default: 'development',
  }),
  PORT: Int(3000, 0, 65535, 'HTTP port'),
  HOST: Str('0.0.0.0', 'interface to bind'),
  ROLE: T.Union([T.Literal('all'), T.Literal('api'), T.Literal('worker')], {
    default: 'all',
    description: 'all = API + workers in one process; api; worker',
  }),
  WEB_CONCURRENCY: Int(1, 1, 64, 'API processes sharing the port (reusePort)'),
  DATABASE_URL: OptStr('postgres URL; unset = embedded PostgreSQL under DATA_DIR', {
    pattern: '^postgres(ql)?://',
  }),
  DATABASE_POOL_MAX: Int(10, 1, 200, 'postgres.js pool size per process'),
  SLOW_QUERY_MS: Int(100, 1, 600000, 'queries slower than this are logged'),
  REDIS_URL: OptStr('redis URL; unset = 127.0.0.1:6379 or a spawned redis-server; "none" = degraded', {
    pattern: '^(none|rediss?://.*)$',
  }),
  REDIS_PREFIX: Str('stampede', 'prefix for every Redis key and BullMQ queue', {
    pattern: '^[A-Za-z0-9_.:-]{1,64}$',
  }),
  DATA_DIR: Str('./.data', 'where the zero-infra start keeps embedded Postgres data'),
  JWT_SECRET: Str('dev-only-secret-change-me-please-0123456789', 'HS256 signing secret', {
    minLength: 32,
  }),
  ACCESS_TOKEN_TTL_SECONDS: Int(900, 30, 86400, 'access token lifetime'),
  REFRESH_TOKEN_TTL_SECONDS: Int(7 * 86400, 60, 90 * 86400, 'refresh token lifetime'),
  ARGON2_MEMORY_COST: Int(19456, 1024, 1048576, 'Argon2id memory (KiB)'),
  ARGON2_TIME_COST: Int(2, 1, 10, 'Argon2id iterations'),
  ADMIN_EMAIL: OptStr('admin account ensured at boot (with ADMIN_PASSWORD)'),
  ADMIN_PASSWORD: OptStr('admin password ensured at boot'),
  LOG_LEVEL: T.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => T.Literal(l)),
    { default: 'info' },
  ),
  CORS_ORIGINS: Str('*', 'comma-separated allowed origins, or *'),
  BODY_LIMIT_BYTES: Int(1048576, 1024, 104857600, 'largest accepted request body'),
  SHUTDOWN_TIMEOUT_MS: Int(10000, 100, 120000, 'grace period to drain requests on SIGTERM'),
  RATE_LIMIT_ENABLED: Bool(true, 'false turns rate limiting off (benchmarks)'),
  RATE_LIMIT_AUTH: Rate('10/60', 'auth endpoints, per IP and per email'),
  RATE_LIMIT_WRITE: Rate('60/60', 'mutating endpoints, per user or IP'),
  RATE_LIMIT_READ: Rate('600/60', 'read endpoints, per user or IP'),
  CACHE_TTL_SECONDS: Int(300, 1, 86400, 'product cache TTL (±10 % jitter)'),
  CACHE_NEGATIVE_TTL_SECONDS: Int(30, 1, 3600, 'how long a 404 is cached'),
  INVENTORY_STRATEGY: T.Union([T.Literal('gated'), T.Literal('pessimistic'), T.Literal('optimistic')], { default: 'gated' }),
  RESERVATION_TTL_SECONDS: Int(900, 5, 86400, 'how long unpaid stock stays reserved'),
  SMTP_URL: OptStr('smtp:// URL; unset = emails go to the mail log table'),
  MAIL_FROM: Str('Stampede <orders@stampede.local>', 'sender of transactional email'),
  PAYMENT_WEBHOOK_SECRET: Str('dev-webhook-secret-change-me-0123456789', 'HMAC key of gateway webhooks', {
    minLength: 16,
  }),
  PAYMENT_GATEWAY_LATENCY_MS: Int(20, 0, 60000, 'simulated gateway latency'),
  SEED_DEMO: Bool(true, 'seed a demo catalog on the first embedded start'),
  JOBS_ENABLED: Bool(true, 'false = never start BullMQ workers in this process'),
  RECS_TOP_K: Int(30, 1, 200, 'neighbours kept per product by the co-occurrence rebuild'),
  RECS_MIN_SUPPORT: Int(3, 1, 1000, 'orders a pair must share before it can be a neighbour'),
  RECS_BATCH_ORDERS: Int(10000, 100, 100000, 'orders per batch while the rebuild streams order lines'),
  RECS_REDIS_TTL_SECONDS: Int(3 * 3600, 60, 7 * 86400, 'TTL of co-occurrence sorted sets (rebuilt hourly)'),
  RECS_USER_TTL_SECONDS: Int(600, 1, 86400, 'per-user recommendations cache TTL (±10 % jitter)'),
})

export type Config = Static<typeof ConfigSchema>

export class ConfigError extends Error {}

function describe(schema: TSchema): string {
  if (schema.anyOf) return `one of ${schema.anyOf.map((s: TSchema) => s.const).join(' | ')}`
  if (schema.type === 'integer') return `an integer from ${schema.minimum} to ${schema.maximum}`
  if (schema.type === 'boolean') return 'true or false'
  if (schema.pattern) return `a string matching ${schema.pattern}`
  if (schema.minLength) return `at least ${schema.minLength} characters`
  return 'a string'
}

/** Parses an env-like record; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const input: Record<string, unknown> = {}
  for (const key of Object.keys(ConfigSchema.properties)) {
    const raw = env[key]
    if (raw !== undefined && raw !== '') input[key] = raw
  }
  const converted = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, input))
  const first = Value.Errors(ConfigSchema, converted).First()
  if (first) {
    const name = first.path.replace(/^\//, '')
    const schema = (ConfigSchema.properties as Record<string, TSchema>)[name] ?? first.schema
    const got = env[name] === undefined ? 'nothing' : `'${env[name]}'`
    throw new ConfigError(`config: ${name} must be ${describe(schema)} (got ${got})`)
  }
  const cfg = converted as Config
  if (cfg.NODE_ENV === 'production' && cfg.JWT_SECRET.startsWith('dev-only-')) {
    throw new ConfigError('config: JWT_SECRET must be set to a private value in production')
  }
  if (Boolean(cfg.ADMIN_EMAIL) !== Boolean(cfg.ADMIN_PASSWORD)) {
    throw new ConfigError('config: ADMIN_EMAIL and ADMIN_PASSWORD must be set together')
  }
  return cfg
}

/** "10/60" → { points: 10, duration: 60 } */
export function parseRate(rate: string): { points: number; duration: number } {
  const [points, duration] = rate.split('/').map(Number)
  return { points: points as number, duration: duration as number }
}

export const config: Config = (() => {
  try {
    return loadConfig(process.env)
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message)
      process.exit(1)
    }
    throw e
  }
})()
