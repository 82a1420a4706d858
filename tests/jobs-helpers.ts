// Helpers of the jobs tests: a redis-server we can kill, worker processes, a fake SMTP server
// that can hang mid-message, and polling.
import { products } from '../db/schema'
import { db } from '../src/infra/db'
import { createInventory } from '../src/modules/inventory/service'
import { freePort } from './helpers'

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
    await Bun.sleep(everyMs)
  }
}

export type RedisServer = { url: string; port: number; stop: () => Promise<void>; start: () => Promise<void> }

/**
 * A private redis-server on a free port (outage tests kill and restart it). No persistence, so a
 * restart comes back empty; `args` are added to the command line (e.g. `--dir` to restart from a
 * snapshot taken with SAVE).
 */
export async function spawnRedis(args: string[] = []): Promise<RedisServer> {
  const port = freePort()
  let proc: Bun.Subprocess | null = null
  const start = async () => {
    proc = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args], {
      stdout: 'ignore',
      stderr: 'ignore',
    })
    await waitFor(`redis-server on ${port}`, async () => {
      const s = await Bun.connect({ hostname: '127.0.0.1', port, socket: { data() {} } }).catch(() => null)
      s?.end()
      return !!s
    })
  }
  const stop = async () => {
    proc?.kill('SIGKILL')
    await proc?.exited
    proc = null
  }
  await start()
  return { url: `redis://127.0.0.1:${port}`, port, stop, start }
}

export type WorkerProcess = { proc: Bun.Subprocess; output: () => string; stop: (signal?: 'SIGTERM' | 'SIGKILL') => Promise<number> }

/** Starts `bun src/index.ts` with ROLE=worker; resolves once it logged "workers started". */
export async function startWorkerProcess(env: Record<string, string>): Promise<WorkerProcess> {
  const proc = Bun.spawn(['bun', `${import.meta.dir}/../src/index.ts`], {
    // Small pools: the shared Postgres has 100 connections for every engineer's test runs. Normal
    // CPU priority: a test waits on these jobs while its own processes keep the CPU busy (the
    // lowered default is tested in worker-priority.test.ts, which asks for it).
    env: { ...process.env, ROLE: 'worker', LOG_LEVEL: 'info', WORKER_METRICS_PORT: '0', DATABASE_POOL_MAX: '3', WORKER_NICE: '0', ...env },
    stdout: 'pipe',
    stderr: 'inherit',
  })
  let out = ''
  ;(async () => {
    const decoder = new TextDecoder()
    for await (const chunk of proc.stdout as ReadableStream<Uint8Array>) out += decoder.decode(chunk)
  })()
  await waitFor(
    'worker process start',
    async () => {
      if (proc.exitCode !== null) throw new Error(`worker exited with ${proc.exitCode}: ${out.slice(-2000)}`)
      return out.includes('workers started')
    },
    20_000,
  )
  return {
    proc,
    output: () => out,
    stop: async (signal = 'SIGTERM') => {
      proc.kill(signal)
      return proc.exited
    },
  }
}

export async function productWithStock(
  onHand: number,
  reorderPoint: number,
  name = `p-${Math.random().toString(36).slice(2, 8)}`,
): Promise<string> {
  return db.transaction(async (tx) => {
    const [p] = await tx.insert(products).values({ name, priceCents: 1250 }).returning()
    if (!p) throw new Error('product insert failed')
    await createInventory(tx, p.id, onHand)
    await tx.execute(`update inventory set reorder_point = ${Number(reorderPoint)} where product_id = '${p.id}'`)
    return p.id
  })
}

/**
 * A minimal SMTP server. `hang` makes it swallow the end of DATA without answering (a send that
 * never completes); accepted messages are recorded with their headers.
 */
export function fakeSmtp() {
  const accepted: string[] = []
  let hang = false
  let sawData = 0
  const server = Bun.listen<{ buf: string; inData: boolean }>({
    hostname: '127.0.0.1',
    port: 0,
    socket: {
      open(s) {
        s.data = { buf: '', inData: false }
        s.write('220 fake ESMTP\r\n')
      },
      data(s, chunk) {
        s.data.buf += chunk.toString()
        for (;;) {
          if (s.data.inData) {
            const end = s.data.buf.indexOf('\r\n.\r\n')
            if (end < 0) return
            const msg = s.data.buf.slice(0, end)
            s.data.buf = s.data.buf.slice(end + 5)
            s.data.inData = false
            if (hang) return // never answer: the client is stuck until it dies
            accepted.push(msg)
            s.write('250 2.0.0 queued\r\n')
            continue
          }
          const nl = s.data.buf.indexOf('\r\n')
          if (nl < 0) return
          const line = s.data.buf.slice(0, nl)
          s.data.buf = s.data.buf.slice(nl + 2)
          const cmd = line.slice(0, 4).toUpperCase()
          if (cmd === 'EHLO' || cmd === 'HELO') s.write('250 fake\r\n')
          else if (cmd === 'DATA') {
            sawData++
            s.data.inData = true
            s.write('354 go ahead\r\n')
          } else if (cmd === 'QUIT') {
            s.write('221 bye\r\n')
            s.end()
            return
          } else s.write('250 ok\r\n')
        }
      },
    },
  })
  return {
    url: `smtp://127.0.0.1:${server.port}`,
    accepted,
    setHang: (v: boolean) => {
      hang = v
    },
    dataCommands: () => sawData,
    stop: () => server.stop(true),
  }
}
