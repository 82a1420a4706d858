// `bun run test`: gives every test file its own database (a copy of one migrated template) and Redis
// key prefix, runs `bun test` on it, removes both afterwards, and ends with "N passed, N failed".
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
// One migrated template; every test file gets a fresh copy of it (and its own Redis prefix), so no
// file sees another's rows: figures computed over "the whole shop" (analytics, inventory:check, the
// contract fuzz) stay exact whatever ran before. Copying a template costs ~0.1 s, migrating ~1 s.
const template = `${dbName}_tpl`
await admin.unsafe(`create database "${template}"`)
await runMigrations(withDb(serverUrl, template))

// Test files: those named on the command line, else every *.test.ts outside node_modules. Pure unit
// tests beside their source (src/, jobs/, bench/) share one process; each tests/ file has its own.
const args = process.argv.slice(2)
const named = args.filter((a) => /\.test\.ts$/.test(a))
const flags = args.filter((a) => !/\.test\.ts$/.test(a))
const all = named.length
  ? named.map((f) => (f.startsWith('./') || f.startsWith('/') ? f : `./${f}`))
  : [...new Bun.Glob('**/*.test.ts').scanSync({ cwd: root })]
      .filter((f) => !f.includes('node_modules'))
      .map((f) => `./${f}`)
      .sort()
const integration = all.filter((f) => f.startsWith('./tests/'))
const units = all.filter((f) => !f.startsWith('./tests/'))
const groups = [...(units.length ? [units] : []), ...integration.map((f) => [f])]

// Tests that start real processes need more than bun's 5 s default on a loaded 2-core box (bun 1.4
// does not read a timeout from bunfig.toml).
const timeout = flags.some((a) => a.startsWith('--timeout')) ? [] : ['--timeout=30000']
const { dropPrefix } = await import('../src/infra/redis')
let current: ReturnType<typeof Bun.spawn> | null = null
let interrupted = false
const forward = (sig: NodeJS.Signals) => {
  interrupted = true
  current?.kill(sig)
}
process.on('SIGINT', forward)
process.on('SIGTERM', forward)

let passed = 0
let failed = 0
let skipped = 0
let exitCode = 0
for (const [i, files] of groups.entries()) {
  if (interrupted) break
  const db = `${dbName}_${i}`
  const filePrefix = `${prefix}-${i}`
  const junit = resolve(process.env.DATA_DIR, `junit-${runId}-${i}.xml`)
  await admin.unsafe(`create database "${db}" template "${template}"`)
  current = Bun.spawn(['bun', 'test', '--reporter=junit', `--reporter-outfile=${junit}`, ...timeout, ...flags, ...files], {
    cwd: root,
    stdio: ['inherit', 'inherit', 'inherit'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: withDb(serverUrl, db),
      TEST_SERVER_DATABASE_URL: serverUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: filePrefix,
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
  const code = await current.exited
  // Clean up what this file created, and nothing else.
  await admin.unsafe(`drop database if exists "${db}" with (force)`).catch((e) => console.error(`could not drop ${db}: ${e.message}`))
  await dropPrefix(redisUrl, filePrefix)
  let fileFailed = 0
  try {
    const xml = await Bun.file(junit).text()
    for (const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
      const inner = m[2] ?? ''
      if (/<(failure|error)\b/.test(inner)) fileFailed++
      else if (/<skipped\b/.test(inner)) skipped++
      else passed++
    }
    await Bun.file(junit).delete()
  } catch {
    fileFailed = 1
  }
  if (code !== 0 && fileFailed === 0) fileFailed = 1
  failed += fileFailed
  if (code !== 0) exitCode = code
}

await admin
  .unsafe(`drop database if exists "${template}" with (force)`)
  .catch((e) => console.error(`could not drop ${template}: ${e.message}`))
await admin.end()
await dropPrefix(redisUrl, prefix)
await stopEmbedded()

if (interrupted && exitCode === 0) exitCode = 130
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(exitCode === 0 && failed === 0 ? 0 : 1)
