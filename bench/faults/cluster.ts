// The fault suite's own world: a fresh database, a private redis-server (AOF, so a kill -9 can come
// back with its data or be wiped on purpose), API and worker processes it can kill -9 and restart.
// Everything it starts it tracks by pid and tears down; nothing shared is touched.
import { mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { resolve } from 'node:path'
import postgres from 'postgres'
import { runMigrations } from '../../db/migrate'

const root = resolve(import.meta.dir, '../..')
const withDb = (url: string, db: string) => Object.assign(new URL(url), { pathname: `/${db}` }).toString()

export function freePort(): number {
  const s = Bun.serve({ port: 0, fetch: () => new Response() })
  const port = s.port as number
  s.stop(true)
  return port
}

async function until(what: string, ok: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await Bun.sleep(50)
  }
}

/** A redis-server of our own. `kill()` is kill -9; `start({ empty: true })` wipes its AOF first. */
export class OwnRedis {
  readonly port = freePort()
  readonly url = `redis://127.0.0.1:${this.port}`
  private proc: Bun.Subprocess | null = null
  constructor(private readonly dir: string) {}

  async start({ empty = false } = {}): Promise<void> {
    if (empty) rmSync(this.dir, { recursive: true, force: true })
    mkdirSync(this.dir, { recursive: true })
    // appendfsync always: a kill -9 loses nothing, so the "kill" fault is a crash-and-recover and
    // only the "empty" fault is a data loss (everysec could lose the last second, blurring the two).
    this.proc = Bun.spawn(
      ['redis-server', '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes'].concat([
        '--appendfsync',
        'always',
        '--save',
        '',
      ]),
      { stdout: 'ignore', stderr: 'ignore' },
    )
    await until(
      `redis-server on ${this.port}`,
      async () => {
        const s = await Bun.connect({ hostname: '127.0.0.1', port: this.port, socket: { data() {} } }).catch(() => null)
        s?.end()
        return !!s
      },
      10_000,
    )
  }

  async kill(): Promise<void> {
    this.proc?.kill('SIGKILL')
    await this.proc?.exited
    this.proc = null
  }
}

export type Role = 'api' | 'worker'

/** One API or worker process (`bun src/index.ts`); its stdout and stderr go to a log file. */
export class Proc {
  proc: Bun.Subprocess | null = null
  readonly port: number
  private starts = 0
  constructor(
    readonly name: string,
    readonly role: Role,
    private readonly env: () => Record<string, string>,
    private readonly logDir: string,
  ) {
    this.port = role === 'api' ? freePort() : 0
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }
  get logFile(): string {
    return resolve(this.logDir, `${this.name}-${this.starts}.log`)
  }

  async start(): Promise<void> {
    this.starts++
    const log = Bun.file(this.logFile)
    this.proc = Bun.spawn(['bun', resolve(root, 'src/index.ts')], {
      env: { ...this.env(), ROLE: this.role, ...(this.port ? { PORT: String(this.port) } : {}) },
      stdout: log,
      stderr: log,
    })
    const p = this.proc
    const ready =
      this.role === 'api'
        ? () =>
            fetch(`${this.url}/health`).then(
              (r) => r.ok,
              () => false,
            )
        : async () =>
            (
              await Bun.file(this.logFile)
                .text()
                .catch(() => '')
            ).includes('workers started')
    await until(
      `${this.name} to start (log: ${this.logFile})`,
      async () => {
        if (p.exitCode !== null) throw new Error(`${this.name} exited with ${p.exitCode} (log: ${this.logFile})`)
        return ready()
      },
      60_000,
    )
  }

  /** kill -9: no shutdown hook runs, in-flight work is cut where it stands. */
  async kill(): Promise<void> {
    this.proc?.kill('SIGKILL')
    await this.proc?.exited
    this.proc = null
  }

  async stop(): Promise<void> {
    const p = this.proc
    if (!p) return
    p.kill('SIGTERM')
    await Promise.race([p.exited, Bun.sleep(8000)])
    p.kill('SIGKILL')
    await p.exited
    this.proc = null
  }
}

export type Cluster = {
  dbUrl: string
  redis: OwnRedis
  logDir: string
  jwtSecret: string
  /** env of every app process; `extra` overrides (e.g. a smaller pool) */
  appEnv: (extra?: Record<string, string>) => Record<string, string>
  teardown: (keepLogs: boolean) => Promise<void>
}

/**
 * Creates the database (migrated) and starts the redis-server. The app processes get small pools
 * (the Postgres server is shared), short job locks so a killed worker's jobs are taken over within
 * seconds rather than the production 30 s, and a short idempotency lock for the same reason.
 */
export async function provision(serverUrl: string, runId: string, smtpUrl: string): Promise<Cluster> {
  const dbName = `stampede_faults_${runId}`
  const admin = postgres(withDb(serverUrl, 'postgres'), { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${dbName}"`)
  const dbUrl = withDb(serverUrl, dbName)
  const dir = resolve(tmpdir(), `stampede-faults-${runId}`)
  const logDir = resolve(dir, 'logs')
  mkdirSync(logDir, { recursive: true })
  const redis = new OwnRedis(resolve(dir, 'redis'))
  try {
    await runMigrations(dbUrl)
    await redis.start()
  } catch (err) {
    await admin.unsafe(`drop database if exists "${dbName}" with (force)`).catch(() => {})
    await admin.end()
    throw err
  }
  const secret = () => crypto.getRandomValues(new Uint8Array(24)).toHex()
  const jwtSecret = `faults-${secret()}`
  const webhookSecret = `faults-${secret()}`
  const appEnv = (extra: Record<string, string> = {}) => ({
    ...(process.env as Record<string, string>),
    NODE_ENV: 'production',
    DATABASE_URL: dbUrl,
    REDIS_URL: redis.url,
    REDIS_PREFIX: 'stampede',
    JWT_SECRET: jwtSecret,
    PAYMENT_WEBHOOK_SECRET: webhookSecret,
    LOG_LEVEL: 'info',
    RATE_LIMIT_ENABLED: 'false',
    WEB_CONCURRENCY: '1',
    DATABASE_POOL_MAX: '4',
    WORKER_METRICS_PORT: '0',
    // The worker at normal priority: on this shared box a nice-19 worker can lag for minutes behind
    // other people's load, which would read as lost work; the default is tested elsewhere.
    WORKER_NICE: '0',
    JOBS_LOCK_DURATION_MS: '3000',
    JOBS_STALLED_INTERVAL_MS: '3000',
    IDEMPOTENCY_LOCK_TIMEOUT_SECONDS: '5',
    PAYMENT_RETRY_DELAY_MS: '300',
    SMTP_URL: smtpUrl,
    ...extra,
  })
  return {
    dbUrl,
    redis,
    logDir,
    jwtSecret,
    appEnv,
    teardown: async (keepLogs) => {
      await redis.kill()
      await admin
        .unsafe(`drop database if exists "${dbName}" with (force)`)
        .catch((e) => console.error(`could not drop ${dbName}: ${e.message}`))
      await admin.end()
      rmSync(keepLogs ? resolve(dir, 'redis') : dir, { recursive: true, force: true })
    },
  }
}
