// `bun run test`: gives this run its own database and Redis key prefix, runs `bun test` against
// them, removes both afterwards, and ends with the line "N passed, N failed".
// DATABASE_URL / REDIS_URL are used as servers when set; otherwise an embedded PostgreSQL and a
// local (or spawned) redis-server.
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import postgres from 'postgres'
import { runMigrations } from '../db/migrate'

const root = resolve(import.meta.dir, '..')
const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`
const dbName = `stampede_test_${runId}`
const prefix = `stampede-test-${runId}`
process.env.DATA_DIR ??= resolve(root, '.data')
mkdirSync(process.env.DATA_DIR, { recursive: true })

const { findOrStartRedis, startEmbeddedPostgres, stopEmbedded } = await import('../src/infra/embedded')

let serverUrl = process.env.DATABASE_URL
if (!serverUrl) serverUrl = (await startEmbeddedPostgres(resolve(process.env.DATA_DIR, 'test-pg'), 'postgres')).url
let redisUrl = process.env.REDIS_URL
if (!redisUrl || redisUrl === 'none') {
  const found = await findOrStartRedis()
  if (!found) {
    console.error('tests need Redis: set REDIS_URL, run one on 127.0.0.1:6379, or put redis-server on PATH')
    process.exit(1)
  }
  redisUrl = found
}

const withDb = (url: string, db: string) => {
  const u = new URL(url)
  u.pathname = `/${db}`
  return u.toString()
}
const admin = postgres(withDb(serverUrl, 'postgres'), { max: 1, onnotice: () => {} })
await admin.unsafe(`create database "${dbName}"`)
const testUrl = withDb(serverUrl, dbName)
await runMigrations(testUrl)

const junit = resolve(process.env.DATA_DIR, `junit-${runId}.xml`)
// Tests that start real processes need more than bun's 5 s default on a loaded 2-core box (bun 1.4
// does not read a timeout from bunfig.toml).
const args = process.argv.slice(2)
const timeout = args.some((a) => a.startsWith('--timeout')) ? [] : ['--timeout=30000']
const child = Bun.spawn(['bun', 'test', '--reporter=junit', `--reporter-outfile=${junit}`, ...timeout, ...args], {
  cwd: root,
  stdio: ['inherit', 'inherit', 'inherit'],
  env: {
    ...process.env,
    NODE_ENV: 'test',
    DATABASE_URL: testUrl,
    TEST_SERVER_DATABASE_URL: serverUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent',
    // Generous defaults so ordinary tests never trip the limiter; the rate-limit tests set
    // their own tight policies.
    RATE_LIMIT_AUTH: process.env.RATE_LIMIT_AUTH ?? '100000/60',
    RATE_LIMIT_WRITE: process.env.RATE_LIMIT_WRITE ?? '100000/60',
    RATE_LIMIT_READ: process.env.RATE_LIMIT_READ ?? '100000/60',
    ARGON2_MEMORY_COST: process.env.ARGON2_MEMORY_COST ?? '4096',
    ARGON2_TIME_COST: process.env.ARGON2_TIME_COST ?? '1',
  },
})
const forward = (sig: NodeJS.Signals) => child.kill(sig)
process.on('SIGINT', forward)
process.on('SIGTERM', forward)
const code = await child.exited

// Clean up what this run created, and nothing else.
await admin.unsafe(`drop database if exists "${dbName}" with (force)`).catch((e) => console.error(`could not drop ${dbName}: ${e.message}`))
await admin.end()
const { dropPrefix } = await import('../src/infra/redis')
await dropPrefix(redisUrl, prefix)
await stopEmbedded()

let passed = 0
let failed = 0
let skipped = 0
try {
  const xml = await Bun.file(junit).text()
  for (const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const inner = m[2] ?? ''
    if (/<(failure|error)\b/.test(inner)) failed++
    else if (/<skipped\b/.test(inner)) skipped++
    else passed++
  }
  await Bun.file(junit).delete()
} catch {
  failed = Math.max(failed, 1)
}
if (code !== 0 && failed === 0) failed = 1
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(code === 0 && failed === 0 ? 0 : 1)
