// The README quickstart as a newcomer runs it: a fresh clone in a private (0700) folder, then
// `bun install && bun run start`, with no DATABASE_URL / REDIS_URL. As root this runs twice: as root
// (then a restart, which must keep the data) and, at the same time, as an unprivileged user
// (created when missing): two checkouts at once. As anyone else, once as that user. Each run asserts /health, demo data, /swagger and /swagger/
// loading the spec, and a clean stop: SIGTERM → exit 0, none of the run's processes left (API,
// Postgres, redis-server), no pg-password file in the temp folder, the password file owner-only.
// Exit 1 on any failure. Usage: bun scripts/first-run-check.ts [--user NAME]
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
} from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { user: { type: 'string', default: 'stampede-firstrun' } } })
const repo = resolve(import.meta.dir, '..')
const isRoot = process.getuid?.() === 0
const failures: string[] = []

type As = { name: string; uid: number; gid: number } | null
type Run = { label: string; as: As; top: string; clone: string; env: Record<string, string> }
const USER_HOMES = '/var/lib/stampede-first-run'

const sh = (cmd: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) => {
  const r = Bun.spawnSync(cmd, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] })
  if (r.exitCode !== 0) throw new Error(`${cmd.join(' ')} → exit ${r.exitCode}: ${r.stderr.toString().trim().slice(-500)}`)
  return r.stdout.toString().trim()
}
const check = (label: string, ok: boolean, what: string) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${label}: ${what}`)
  if (!ok) failures.push(`${label}: ${what}`)
}
const as = (who: As, cmd: string[]) => (who ? ['setpriv', `--reuid=${who.uid}`, `--regid=${who.gid}`, '--init-groups', ...cmd] : cmd)

function freePort(): number {
  const s = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = s.port as number
  s.stop(true)
  return port
}

function unprivilegedUser(name: string): As {
  if (Bun.spawnSync(['id', '-u', name]).exitCode !== 0) sh(['useradd', '--system', '--no-create-home', '--shell', '/bin/bash', name])
  return { name, uid: Number(sh(['id', '-u', name])), gid: Number(sh(['id', '-g', name])) }
}

/** A bun the user can execute, in a folder that goes first on its PATH. */
function bunDirFor(who: As): string {
  const bun = realpathSync(Bun.which('bun') ?? process.execPath)
  if (!who || Bun.spawnSync(as(who, ['test', '-x', bun])).exitCode === 0) return dirname(bun)
  // e.g. bun under /root/.bun: put a copy where every user can run it.
  const dir = '/usr/local/lib/stampede-bun'
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  if (!existsSync(join(dir, 'bun'))) cpSync(bun, join(dir, 'bun'))
  return dir
}

function prepare(label: string, who: As): Run {
  const top = mkdtempSync('/tmp/stampede-first-run-') // mode 0700: the postgres user cannot traverse it
  const clone = join(top, 'stampede')
  sh(['git', 'clone', '-q', '--no-hardlinks', repo, clone])
  mkdirSync(join(top, 'tmp'))
  const env: Record<string, string> = {
    PATH: `${bunDirFor(who)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: process.env.HOME ?? '/root',
    TMPDIR: join(top, 'tmp'),
    LANG: 'C.UTF-8',
  }
  if (who) {
    // A home that outlives the run, like a real user's: its bun cache is filled from the registry
    // once (~25 s, 330 MB; copying ours costs as much) and reused by later runs.
    env.HOME = join(USER_HOMES, who.name)
    mkdirSync(USER_HOMES, { recursive: true, mode: 0o755 })
    chmodSync(USER_HOMES, 0o755)
    mkdirSync(env.HOME, { recursive: true, mode: 0o700 })
    sh(['chown', `${who.uid}:${who.gid}`, env.HOME])
    sh(['chown', '-R', `${who.uid}:${who.gid}`, top])
  }
  return { label, as: who, top, clone, env }
}

/** pid → start time of `root` and all its descendants (start time guards against pid reuse). */
function tree(root: number): Map<number, string> {
  const procs = new Map<number, { ppid: number; start: string }>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      procs.set(Number(name), { ppid: Number(f[1]), start: f[19] ?? '' })
    } catch {}
  }
  const out = new Map<number, string>()
  const walk = (pid: number) => {
    out.set(pid, procs.get(pid)?.start ?? '')
    for (const [child, p] of procs) if (p.ppid === pid && !out.has(child)) walk(child)
  }
  if (procs.has(root)) walk(root)
  return out
}
const stillRunning = (pids: Map<number, string>) =>
  [...pids].filter(([pid, start]) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] === start
    } catch {
      return false
    }
  })

async function get(url: string): Promise<{ status: number; type: string; body: string }> {
  try {
    const r = await fetch(url)
    return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() }
  } catch (e) {
    return { status: 0, type: '', body: String(e) }
  }
}

/** One `bun run start` until healthy, the checks, then SIGTERM; returns the log. */
async function startAndStop(run: Run, round: string): Promise<string> {
  const label = `${run.label}${round}`
  const port = freePort()
  const log = join(run.top, `start${round}.log`)
  const fd = openSync(log, 'w')
  const proc = Bun.spawn(as(run.as, ['bun', 'run', 'start']), {
    cwd: run.clone,
    env: { ...run.env, PORT: String(port) },
    stdio: ['ignore', fd, fd],
  })
  const base = `http://127.0.0.1:${port}`
  const t0 = performance.now()
  let healthy = false
  while (!healthy && proc.exitCode === null && performance.now() - t0 < 120000) {
    healthy = (await get(`${base}/health`)).status === 200
    if (!healthy) await Bun.sleep(200)
  }
  const tail = () => readFileSync(log, 'utf8').trim().split('\n').slice(-5).join('\n')
  check(
    label,
    healthy,
    `/health answers 200 (${((performance.now() - t0) / 1000).toFixed(1)} s after start)${healthy ? '' : `\n${tail()}`}`,
  )
  const pids = tree(proc.pid)
  if (healthy) {
    const products = await get(`${base}/api/v1/products?limit=5`)
    const items = products.status === 200 ? (JSON.parse(products.body).items?.length ?? 0) : 0
    check(label, items > 0, `GET /api/v1/products has demo items (${products.status}, ${items} items)`)
    for (const page of ['/swagger', '/swagger/']) {
      const html = await get(`${base}${page}`)
      // Resolve the spec URL the way the browser does, against the page's own URL.
      const spec = /"url"\s*:\s*"([^"]+)"/.exec(html.body)?.[1] ?? ''
      const specUrl = new URL(spec, `${base}${page}`).href
      const json = await get(specUrl)
      const ok = html.status === 200 && html.type.includes('text/html') && json.status === 200 && json.body.includes('"openapi"')
      check(
        label,
        ok,
        `${page} serves Swagger UI and its spec URL ${specUrl.slice(base.length)} loads (${html.status}, spec ${json.status})`,
      )
    }
  }
  proc.kill('SIGTERM')
  const code = await Promise.race([proc.exited, Bun.sleep(30000).then(() => 'timeout' as const)])
  check(label, code === 0, `SIGTERM → exit ${code}`)
  let left = stillRunning(pids)
  for (let i = 0; i < 50 && left.length; i++, left = stillRunning(pids)) await Bun.sleep(100)
  const names = left.map(([pid]) => `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 80)}`)
  check(
    label,
    left.length === 0,
    `nothing of the run left running (${pids.size} processes seen)${names.length ? `: ${names.join('; ')}` : ''}`,
  )
  for (const [pid] of left) process.kill(pid, 'SIGKILL') // ours: never leave them to the next step
  return readFileSync(log, 'utf8')
}

function secretsChecks(run: Run): string | null {
  const tmp = readdirSync(join(run.top, 'tmp')).filter((f) => f.startsWith('pg-password'))
  check(run.label, tmp.length === 0, `no pg-password file in the temp folder${tmp.length ? `: ${tmp.join(', ')}` : ''}`)
  const location = join(run.clone, '.data', 'pg.location')
  const cluster = existsSync(location) ? readFileSync(location, 'utf8').trim() : join(run.clone, '.data', 'pg')
  const pw = `${cluster}.password`
  const mode = existsSync(pw) ? (statSync(pw).mode & 0o777).toString(8) : 'missing'
  check(run.label, mode === '600', `the Postgres password file is owner-only (${pw}: ${mode})`)
  return existsSync(location) ? cluster : null
}

/** Returns the Postgres port the first start used. */
async function firstRun(label: string, who: As): Promise<number | null> {
  const run = prepare(label, who)
  let relocated: string | null = null
  let port: number | null = null
  try {
    const t0 = performance.now()
    const install = Bun.spawn(as(who, ['bun', 'install']), { cwd: run.clone, env: run.env, stdio: ['ignore', 'ignore', 'pipe'] })
    const [code, err] = await Promise.all([install.exited, new Response(install.stderr).text()])
    const secs = ((performance.now() - t0) / 1000).toFixed(1)
    check(label, code === 0, `bun install (${secs} s)${code ? `\n${err.slice(-800)}` : ''}`)
    if (code !== 0) return null
    const first = await startAndStop(run, '')
    check(label, first.includes('demo data seeded'), 'the first start seeded the demo shop')
    port = Number(/"url":"postgres:\/\/[^"]*:(\d+)\/stampede"/.exec(first)?.[1]) || null
    relocated = secretsChecks(run)
    if (!who) {
      const again = await startAndStop(run, ' (restart)')
      check(`${label} (restart)`, again.includes('"fresh":false') && !again.includes('demo data seeded'), 'a restart keeps the database')
    }
  } finally {
    rmSync(run.top, { recursive: true, force: true })
    // Root's cluster lives outside the clone (/var/lib/stampede/<key>/pg): remove this run's.
    if (relocated) rmSync(dirname(relocated), { recursive: true, force: true })
  }
  return port
}

const t0 = performance.now()
if (isRoot) {
  // At the same time: two checkouts at once, each with its own servers, racing for the same ports.
  const user = unprivilegedUser(values.user as string)
  const ports = await Promise.all([firstRun('root', null), firstRun(`user ${values.user}`, user)])
  check('both', ports[0] !== null && ports[0] !== ports[1], `two checkouts at once run their own Postgres (ports ${ports.join(', ')})`)
} else {
  await firstRun(`user ${process.env.USER ?? process.getuid?.()}`, null)
}
console.log(
  `first-run check: ${failures.length ? `${failures.length} failed` : 'all passed'} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
)
process.exit(failures.length ? 1 : 0)
