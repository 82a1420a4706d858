// Bookkeeping for the servers the zero-infra start runs (embedded Postgres, redis-server): who stops
// them, free-port search, and the small JSON files that let a second process of the same checkout
// share a server instead of starting another, or adopt one whose starter died.
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'

const stoppers: (() => Promise<void>)[] = []
let closed = false

/** Registers a stop step; refused once shutdown began, so a late start cannot leak a server. */
export function onStop(stop: () => Promise<void>): void {
  if (closed) throw new Error('shutting down: not starting another local server')
  stoppers.push(stop)
}

export async function stopEmbedded(): Promise<void> {
  closed = true
  for (const stop of stoppers.splice(0).reverse()) await stop().catch(() => {})
}

/** Lets tests and scripts that run several start/stop rounds in one process start again. */
export function reopenEmbedded(): void {
  closed = false
}

export function tcpReachable(host: string, port: number, timeoutMs = 300): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port })
    const finish = (ok: boolean) => {
      socket.destroy()
      done(ok)
    }
    socket.setTimeout(timeoutMs, () => finish(false))
    socket.once('connect', () => finish(true))
    socket.once('error', () => finish(false))
  })
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer()
    server.once('error', () => done(false))
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => done(true)))
  })
}

/** The first free port from `start` on (a stable, readable port for the first checkout on a host). */
export async function freePortFrom(start: number, skip: number[] = []): Promise<number> {
  for (let port = start; port < start + 500; port++) {
    if (!skip.includes(port) && (await portFree(port))) return port
  }
  throw new Error(`no free port in ${start}-${start + 499}`)
}

export function alive(pid: number | undefined): boolean {
  if (!pid || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Whether live process `pid` runs `program` (a pid from a file may have been reused after a reboot). */
export function runs(pid: number, program: string): boolean {
  if (!alive(pid)) return false
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(program)
  } catch {
    return process.platform !== 'linux' // no /proc to ask: trust the pid
  }
}

/** Waits until `pid` is gone (it need not be our child); false after `ms`. */
export async function waitGone(pid: number, ms: number): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await Bun.sleep(50)) if (!alive(pid)) return true
  return !alive(pid)
}

export function readJson<T>(file: string): T | null {
  try {
    return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : null
  } catch {
    return null
  }
}

/** Owner-only (0600) write, atomically: a reader never sees half a file. */
export function writePrivate(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, text, { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, file)
}
