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
  SLOW_QUERY_MS: Int(100, 1, 600000, 'queries slower than this are counted and logged (at most 10 lines a second)'),
  DATABASE_STATEMENT_TIMEOUT_MS: Int(5000, 0, 86400000, 'Postgres statement_timeout of the pool connections; 0 = none'),
  DATABASE_LOCK_TIMEOUT_MS: Int(2000, 0, 86400000, 'Postgres lock_timeout of the pool connections; 0 = none'),
  DATABASE_ACQUIRE_TIMEOUT_MS: Int(2000, 0, 600000, 'longest wait for a pooled connection before 503 database_busy; 0 = none'),
  WORKER_STATEMENT_TIMEOUT_MS: Int(300000, 0, 86400000, 'statement_timeout of a ROLE=worker process (batch jobs); 0 = none'),
  REQUEST_TIMEOUT_MS: Int(5000, 100, 600000, "a request's database waits end at this deadline (503 database_busy)"),
  REDIS_URL: OptStr('redis URL; unset = a redis-server from PATH for this DATA_DIR, else 127.0.0.1:6379; "none" = degraded', {
    pattern: '^(none|rediss?://.*)$',
  }),
  REDIS_PREFIX: Str('stampede', 'prefix for every Redis key and BullMQ queue', {
    pattern: '^[A-Za-z0-9_.:-]{1,64}$',
  }),
  DATA_DIR: Str('./.data', 'where the zero-infra start keeps embedded Postgres data'),
  JWT_SECRET: Str('dev-only-secret-change-me-please-0123456789', 'HS256 signing secret (production: private, 32+ chars)', {
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
  BODY_LIMIT_BYTES: Int(1048576, 1024, 104857600, 'largest accepted request body, counted on the bytes sent (chunked too); larger = 413'),
  WARMUP_ROUNDS: Int(
    300,
    0,
    100000,
    'in-process requests (3 per round: 2 refused checkouts, /health) an API process answers before it listens, so its first real requests are fast; 0 = none',
  ),
  MEMORY_SOFT_LIMIT_MB: Int(0, 0, 1_000_000, 'RSS above which a process runs a full garbage collection (like GOMEMLIMIT); 0 = no limit'),
  SHUTDOWN_TIMEOUT_MS: Int(10000, 100, 120000, 'grace period to drain requests on SIGTERM'),
  RATE_LIMIT_ENABLED: Bool(true, 'false turns rate limiting off (benchmarks)'),
  TRUST_PROXY: Bool(false, 'true = the client IP is the last X-Forwarded-For hop (only behind your own proxy)'),
  RATE_LIMIT_AUTH: Rate(
    '10/60',
    'auth endpoints, per IP; also failed logins per IP and email, register and password reset per email, password change per user',
  ),
  RATE_LIMIT_WRITE: Rate('60/60', 'mutating endpoints, per user or IP'),
  RATE_LIMIT_READ: Rate('600/60', 'read endpoints, per user or IP'),
  CACHE_TTL_SECONDS: Int(300, 1, 86400, 'product cache TTL (±10 % jitter)'),
  CACHE_NEGATIVE_TTL_SECONDS: Int(30, 1, 3600, 'how long a 404 is cached'),
  CACHE_LOCAL_MAX_ENTRIES: Int(10000, 0, 1000000, 'in-process product cache (L1) in front of Redis, entries per process; 0 = off'),
  CACHE_LOCAL_TTL_SECONDS: Int(30, 1, 86400, 'L1 entry lifetime (invalidations drop entries at once; this bounds anything missed)'),
  SEARCH_CACHE_TTL_SECONDS: Int(30, 1, 3600, 'how long a product list/search page (ids only) is cached'),
  INVENTORY_STRATEGY: T.Union([T.Literal('gated'), T.Literal('pessimistic'), T.Literal('optimistic')], { default: 'gated' }),
  INVENTORY_GATE_LEASE_MS: Int(
    5000,
    200,
    600000,
    'units taken at the gate and not yet written to Postgres are reclaimed after this long (a process died holding them)',
  ),
  RESERVATION_TTL_SECONDS: Int(900, 5, 86400, 'how long unpaid stock stays reserved'),
  RISK_ENABLED: Bool(true, 'score every order for fraud at checkout and on payment events (rules: /admin/risk/rules)'),
  RISK_FEATURES_TIMEOUT_MS: Int(
    250,
    1,
    10000,
    'longest a checkout waits for its risk features from Redis before scoring from Postgres (marked degraded)',
  ),
  SMTP_URL: OptStr('smtp:// URL; unset = emails go to the mail log table'),
  MAIL_FROM: Str('Stampede <orders@stampede.local>', 'sender of transactional email'),
  PAYMENT_WEBHOOK_SECRET: Str('dev-webhook-secret-change-me-0123456789', 'HMAC key of webhooks (production: private, 32+ chars)', {
    minLength: 16,
  }),
  PAYMENT_GATEWAY_LATENCY_MS: Int(20, 0, 60000, 'simulated gateway latency'),
  PAYMENT_GATEWAY_TIMEOUT_MS: Int(2000, 1, 120000, 'a gateway call slower than this counts as a transient timeout'),
  PAYMENT_FLAKY_FAILURES: Int(2, 0, 100, 'pm_card_flaky fails this many calls per idempotency key, then succeeds'),
  PAYMENT_MAX_ATTEMPTS: Int(5, 1, 50, 'charge job attempts before the order becomes payment_failed'),
  PAYMENT_RETRY_DELAY_MS: Int(1000, 1, 3600000, 'charge retry backoff base (exponential, ±50 % jitter)'),
  PAYMENT_WEBHOOK_TOLERANCE_SECONDS: Int(300, 1, 86400, 'webhook signatures older than this are rejected'),
  IDEMPOTENCY_TTL_SECONDS: Int(86400, 60, 30 * 86400, 'how long an Idempotency-Key and its stored response live'),
  IDEMPOTENCY_LOCK_TIMEOUT_SECONDS: Int(60, 1, 86400, 'an in-progress key older than this is presumed abandoned'),
  CART_TTL_SECONDS: Int(30 * 86400, 60, 365 * 86400, 'sliding expiry of a cart (Redis hash)'),
  SEED_DEMO: Bool(true, 'seed a demo catalog when the embedded database is empty'),
  JOBS_ENABLED: Bool(true, 'false = never start BullMQ workers in this process'),
  JOBS_CONCURRENCY: Int(5, 1, 200, 'jobs one worker process runs at once per queue'),
  JOBS_LOCK_DURATION_MS: Int(30000, 500, 600000, 'BullMQ job lock; a worker silent this long is stalled'),
  JOBS_STALLED_INTERVAL_MS: Int(30000, 500, 600000, 'how often workers look for stalled jobs'),
  JOBS_QUEUES: Str('', 'comma-separated queues this process works (and schedules); empty = all', {
    pattern: '^[a-z, -]*$',
  }),
  OUTBOX_RELAY_ENABLED: Bool(true, 'false = this worker process does not run the outbox relay'),
  WORKER_METRICS_PORT: Int(9464, 0, 65535, 'ROLE=worker serves /metrics here (0 = off)'),
  WORKER_NICE: Int(
    19,
    0,
    19,
    'ROLE=worker lowers its CPU priority to this nice value (19 = lowest), so jobs yield to requests on a shared host; 0 = unchanged',
  ),
  OUTBOX_POLL_MS: Int(250, 50, 600000, 'outbox relay poll interval'),
  OUTBOX_BATCH_SIZE: Int(100, 1, 10000, 'outbox rows claimed per relay round'),
  OUTBOX_RETENTION_DAYS: Int(7, 1, 3650, 'published outbox events are deleted after this many days'),
  SCHEDULE_EXPIRE_RESERVATIONS_MS: Int(30000, 1000, 86400000, 'reservation expiry sweep interval'),
  SCHEDULE_RECOMMENDATIONS_MS: Int(3600000, 10000, 604800000, 'recommendation matrix rebuild interval'),
  SCHEDULE_LOW_STOCK_MS: Int(86400000, 10000, 604800000, 'full low-stock check interval'),
  SCHEDULE_RECONCILE_GATE_MS: Int(300000, 1000, 86400000, 'Redis gate reconciliation interval'),
  SCHEDULE_SALES_MS: Int(1000, 200, 60000, 'flash-sale sweep interval: installs gates before the opening, returns unsold units at the end'),
  SALES_GATE_LEAD_SECONDS: Int(60, 1, 86400, "how long before a sale's opening its Redis gate is installed"),
  SCHEDULE_CLEANUP_MS: Int(86400000, 10000, 604800000, 'idempotency-key and refresh-token purge interval'),
  SEARCH_INDEX_REFRESH_MS: Int(
    15000,
    100,
    600000,
    'how often an API process looks for a new search index version and folds in changed products',
  ),
  SEARCH_RANKING_BUDGET_MS: Int(50, 1, 10000, 'time budget of the search ranking stage; over it, results are ordered by popularity'),
  SEARCH_SEMANTIC_BUDGET_MS: Int(100, 1, 10000, 'time budget of semantic retrieval; over it, the search is served keyword-only'),
  SEARCH_INDEX_CRON: Str(
    '30 3 * * *',
    'cron (UTC) of the nightly relearning of the search embeddings and vector index; a cron, so a worker boot does not start a build',
    { pattern: '^\\S+( \\S+){4,5}$' },
  ),
  EMBEDDING_MODEL_DIR: OptStr(
    'a local ONNX sentence-embedding model directory (transformers.js layout); unset = embeddings learned from the catalog (TF-IDF + SVD)',
  ),
  SCHEDULE_RECOVER_MS: Int(60000, 1000, 86400000, 'how often owed emails and charges without a job are re-enqueued from Postgres'),
  SCHEDULE_FORECASTS_MS: Int(21600000, 10000, 604800000, 'demand forecast recompute interval (planning)'),
  SCHEDULE_REORDER_MS: Int(43200000, 10000, 604800000, 'reorder suggestion and planning alert sweep interval'),
  PLANNING_SERVICE_LEVEL_PERCENT: Int(95, 50, 99, 'target service level of the reorder safety stock, in percent'),
  PLANNING_BIG_SALE_DAYS: Int(
    3,
    1,
    28,
    'a drop in available since the last plan of this many days of forecast demand (first week) is a big sale: the forecast is refitted',
  ),
  PLANNING_BIG_SALE_MIN_UNITS: Int(10, 1, 1000000, 'the smallest drop that counts as a big sale (products with a tiny or no forecast)'),
  JOBS_RECOVERY_GRACE_MS: Int(60000, 0, 86400000, 'the scheduled recovery leaves work younger than this to its own job'),
  REDIS_EPOCH_CHECK_MS: Int(5000, 100, 600000, 'how often a worker checks that Redis still holds its data'),
  RECS_TOP_K: Int(30, 1, 200, 'neighbours kept per product by the co-occurrence rebuild'),
  RECS_MIN_SUPPORT: Int(3, 1, 1000, 'orders a pair must share before it can be a neighbour'),
  RECS_BATCH_ORDERS: Int(10000, 100, 100000, 'orders per batch while the rebuild streams order lines'),
  RECS_REDIS_TTL_SECONDS: Int(3 * 3600, 60, 7 * 86400, 'TTL of co-occurrence sorted sets (rebuilt hourly)'),
  RECS_USER_TTL_SECONDS: Int(600, 1, 86400, 'per-user recommendations cache TTL (±10 % jitter)'),
  RECS_EXPERIMENT: Str('', 'A/B test of recommendation strategies, "strategy:weight,…" (e.g. blend:50,cooccurrence:50); empty = none', {
    pattern:
      '^$|^(auto|blend|als|content|cooccurrence|segment|popular):[0-9]{1,3}(,(auto|blend|als|content|cooccurrence|segment|popular):[0-9]{1,3})*$',
  }),
  RECS_ATTRIBUTION_HOURS: Int(24, 1, 720, 'a purchase counts for a recommendation list served at most this long before it'),
  ML_MODEL_CHECK_MS: Int(
    15000,
    0,
    3600000,
    'how often an API process re-reads which model version is active (activations are also announced over Redis pub/sub)',
  ),
  ML_TRAINING_CRON: Str(
    '0 3 * * *',
    'cron (UTC) of the scheduled retraining of every ML model; a cron, not an interval, so a worker boot does not start a training',
    {
      pattern: '^\\S+( \\S+){4,5}$',
    },
  ),
  SCHEDULE_ANALYTICS_REBUILD_MS: Int(600000, 10000, 86400000, 'analytics rollup rebuild-and-drift-check interval'),
  ANALYTICS_CACHE_TTL_SECONDS: Int(5, 1, 3600, 'dashboard figures cache TTL; order events invalidate sooner'),
  LIVE_TICKET_TTL_SECONDS: Int(30, 5, 300, 'lifetime of a single-use live-feed WebSocket ticket'),
  LIVE_STREAM_MAXLEN: Int(10000, 100, 1000000, 'live-feed messages kept in the Redis Stream for ?since= replay'),
  LIVE_TICK_MS: Int(1000, 250, 2000, 'metrics tick interval of the admin live feed'),
  LIVE_HEARTBEAT_MS: Int(15000, 1000, 120000, 'WebSocket ping interval of the live feeds'),
  LIVE_CLIENT_BUFFER_BYTES: Int(1048576, 16384, 67108864, 'a live client whose unsent backlog passes this is dropped'),
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

/** Secrets with a default (published in this repository) and the shortest value production takes. */
const SECRETS = { JWT_SECRET: 32, PAYMENT_WEBHOOK_SECRET: 32 } as const
// Placeholders printed in the repository (docker-compose.yml, README): public, so never a secret.
const PUBLIC_PLACEHOLDER = /change-?me|dev-only|dev-webhook/i

/**
 * Production refuses to boot with a secret anyone can read in this repository: a default, a
 * placeholder, or one too short to resist guessing. Anyone holding PAYMENT_WEBHOOK_SECRET can
 * mark an unpaid order paid; anyone holding JWT_SECRET can sign an admin token.
 */
function checkProductionSecrets(cfg: Config): void {
  for (const [name, min] of Object.entries(SECRETS) as [keyof typeof SECRETS, number][]) {
    const value = cfg[name]
    const def = (ConfigSchema.properties[name] as TSchema).default
    if (value === def || PUBLIC_PLACEHOLDER.test(value)) {
      throw new ConfigError(`config: ${name} must be set to a private value in production (it is the public default)`)
    }
    if (value.length < min) throw new ConfigError(`config: ${name} must be at least ${min} characters in production (got ${value.length})`)
  }
  if (cfg.ADMIN_PASSWORD && PUBLIC_PLACEHOLDER.test(cfg.ADMIN_PASSWORD)) {
    throw new ConfigError('config: ADMIN_PASSWORD must be set to a private value in production (it is a public placeholder)')
  }
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
  if (cfg.NODE_ENV === 'production') checkProductionSecrets(cfg)
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
