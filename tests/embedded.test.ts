// The zero-infra start's embedded PostgreSQL, for real: each data dir its own server (port chosen
// free and remembered, no shared socket), the database created whenever it is missing, a server
// orphaned by a killed process adopted and stopped, no secret in the temp folder. Data dirs are
// created in private (0700) temp folders, so as root this also covers a checkout the postgres user
// cannot reach.
import { afterAll, describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import postgres from 'postgres'
import * as embedded from '../src/infra/embedded'

const started = Date.now()
const tops: string[] = []
const privateDir = () => {
  const top = mkdtempSync(join(tmpdir(), 'stampede-embedded-test-'))
  tops.push(top)
  return join(top, 'data', 'pg')
}
// Rounds of start/stop in one process (the app itself stops only once, at exit).
const stopAll = async () => {
  await embedded.stopEmbedded()
  ;(embedded as { reopenEmbedded?: () => void }).reopenEmbedded?.()
}
const query = async (url: string, q: string) => {
  const sql = postgres(url, { max: 1, onnotice: () => {} })
  try {
    return await sql.unsafe(q)
  } finally {
    await sql.end()
  }
}
const portOf = (url: string) => Number(new URL(url).port)

afterAll(async () => {
  await embedded.stopEmbedded()
  for (const top of tops) {
    // As root the clusters live under /var/lib/stampede/<key>/pg; the data dir says where.
    const location = join(top, 'data', 'pg.location')
    if (existsSync(location)) rmSync(dirname(readFileSync(location, 'utf8').trim()), { recursive: true, force: true })
    rmSync(top, { recursive: true, force: true })
  }
}, 30000)

describe('embedded PostgreSQL', () => {
  const a = privateDir()
  const b = privateDir()

  test('two data dirs run two servers: own port, own database, nothing shared', async () => {
    const first = await embedded.startEmbeddedPostgres(a)
    const second = await embedded.startEmbeddedPostgres(b)
    expect(first.fresh).toBe(true)
    expect(second.fresh).toBe(true)
    expect(portOf(second.url)).not.toBe(portOf(first.url))
    await query(first.url, 'create table only_in_a (x int)')
    const [row] = await query(second.url, "select to_regclass('only_in_a') is null as absent")
    expect(row?.absent).toBe(true)
    // No Unix socket file for another checkout to pick up.
    const [sockets] = await query(first.url, 'show unix_socket_directories')
    expect(sockets?.unix_socket_directories).toBe('')
  }, 90000)

  test('the database is created whenever it is missing, not only with a new cluster', async () => {
    const { url } = await embedded.startEmbeddedPostgres(a)
    await query(url.replace(/\/stampede$/, '/postgres'), 'drop database stampede with (force)')
    await stopAll()
    const again = await embedded.startEmbeddedPostgres(a)
    expect(again.fresh).toBe(true)
    const [row] = await query(again.url, 'select current_database() as db')
    expect(row?.db).toBe('stampede')
  }, 90000)

  test('a port taken by another program moves the data dir to a free port, kept across restarts', async () => {
    const { url } = await embedded.startEmbeddedPostgres(a)
    const old = portOf(url)
    await stopAll()
    const squatter = Bun.listen({ hostname: '127.0.0.1', port: old, socket: { data() {} } })
    let moved: number
    try {
      const next = await embedded.startEmbeddedPostgres(a)
      moved = portOf(next.url)
      expect(moved).not.toBe(old)
      expect(next.fresh).toBe(false)
      await stopAll()
    } finally {
      squatter.stop(true)
    }
    const later = await embedded.startEmbeddedPostgres(a)
    expect(portOf(later.url)).toBe(moved)
  }, 90000)

  test('a stale postmaster.pid whose pid now belongs to another program does not block the start', async () => {
    const { clusterDir } = await embedded.startEmbeddedPostgres(a)
    await stopAll()
    const other = Bun.spawn(['sleep', '60'])
    try {
      // As after a reboot: the file survived, its pid was handed to some other process.
      writeFileSync(join(clusterDir, 'postmaster.pid'), `${other.pid}\n${clusterDir}\n0\n54329\n\n127.0.0.1\n0 0\nready\n`)
      const again = await embedded.startEmbeddedPostgres(a)
      const [row] = await query(again.url, 'select 1 as one')
      expect(row?.one).toBe(1)
    } finally {
      other.kill()
    }
  }, 90000)

  test('no password in the temp folder; the password file is owner-only', async () => {
    const { clusterDir } = await embedded.startEmbeddedPostgres(b)
    const leaked = readdirSync(tmpdir()).filter((f) => f.startsWith('pg-password') && statSync(join(tmpdir(), f)).mtimeMs >= started - 1000)
    expect(leaked).toEqual([])
    expect(statSync(`${clusterDir}.password`).mode & 0o777).toBe(0o600)
    if (process.getuid?.() === 0) {
      // The checkout's folder is 0700: the cluster went where the postgres user can reach it.
      expect(clusterDir.startsWith('/var/lib/stampede/')).toBe(true)
      expect(readFileSync(join(dirname(b), 'pg.location'), 'utf8').trim()).toBe(clusterDir)
    } else {
      expect(clusterDir).toBe(b)
    }
  }, 90000)

  test('a server left running by a killed process is adopted, then stopped by the adopter', async () => {
    await stopAll()
    const c = privateDir()
    const script = `const { startEmbeddedPostgres } = await import(${JSON.stringify(`${import.meta.dir}/../src/infra/embedded.ts`)})
      const r = await startEmbeddedPostgres(${JSON.stringify(c)}); console.log(JSON.stringify(r)); await Bun.sleep(600000)`
    const child = Bun.spawn(['bun', '-e', script], { stdout: 'pipe', stderr: 'inherit', env: { ...process.env, LOG_LEVEL: 'silent' } })
    const reader = child.stdout.getReader()
    let out = ''
    while (!out.includes('\n')) {
      const { value, done } = await reader.read()
      if (done) break
      out += new TextDecoder().decode(value)
    }
    const first = JSON.parse(out) as { url: string; clusterDir: string }
    child.kill('SIGKILL')
    await child.exited
    const pid = Number(readFileSync(join(first.clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0])
    expect(() => process.kill(pid, 0)).not.toThrow() // detached: survived its starter

    const adopted = await embedded.startEmbeddedPostgres(c)
    expect(portOf(adopted.url)).toBe(portOf(first.url))
    expect(adopted.fresh).toBe(false)
    await stopAll()
    expect(() => process.kill(pid, 0)).toThrow()
  }, 90000)
})
