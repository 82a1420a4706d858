// What the single-instance benchmarks (browse, fuzz) share: a database of their own on the
// DATABASE_URL server (created and migrated here, dropped by the caller's cleanup) and one real API
// process that they wait for until /health answers.
import { resolve } from 'node:path'
import postgres from 'postgres'
import { runMigrations } from '../../db/migrate'

const root = resolve(import.meta.dir, '../..')
const withDb = (url: string, db: string) => Object.assign(new URL(url), { pathname: `/${db}` }).toString()

export type BenchDatabase = { url: string; runId: string; prefix: string; drop: () => Promise<void> }

/** Creates and migrates `stampede_<kind>_<runId>`; `drop` removes it (and is safe to call once). */
export async function benchDatabase(kind: string): Promise<BenchDatabase> {
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`
  const dbName = `stampede_${kind}_${runId}`
  const admin = postgres(withDb(serverUrl, 'postgres'), { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database "${dbName}"`)
  const drop = async () => {
    await admin
      .unsafe(`drop database if exists "${dbName}" with (force)`)
      .catch((e) => console.error(`could not drop ${dbName}: ${e.message}`))
    await admin.end()
  }
  const url = withDb(serverUrl, dbName)
  try {
    await runMigrations(url)
  } catch (err) {
    await drop()
    throw err
  }
  return { url, runId, prefix: `stampede-${kind}-${runId}`, drop }
}

/** Starts `src/index.ts` as one API process on a port near `portBase`; resolves once /health answers. */
export async function startBenchApi(
  env: Record<string, string>,
  opts: { portBase: number; stdout?: 'inherit' | 'ignore' },
): Promise<{ base: string; proc: Bun.Subprocess }> {
  const port = opts.portBase + Math.floor(Math.random() * 500)
  const proc = Bun.spawn(['bun', resolve(root, 'src/index.ts')], {
    cwd: root,
    env: { ...process.env, PORT: String(port), ROLE: 'api', WEB_CONCURRENCY: '1', ...env },
    stdout: opts.stdout ?? 'ignore',
    stderr: 'inherit',
  })
  const base = `http://127.0.0.1:${port}`
  // Up to 180 s: on a shared, loaded machine a boot (migrations, warm-up) has taken over 30 s.
  for (let i = 0; i < 1800; i++) {
    if (proc.exitCode !== null) throw new Error(`API process exited with ${proc.exitCode}`)
    const up = await fetch(`${base}/health`).then(
      (r) => r.ok,
      () => false,
    )
    if (up) return { base, proc }
    await Bun.sleep(100)
  }
  proc.kill('SIGTERM')
  throw new Error(`API process did not answer ${base}/health within 180 s`)
}
