// CPU priority of a worker-only process (WORKER_NICE). Where the worker shares a host with API
// processes, its jobs (confirmation mail, the outbox relay, sweeps) should run on the CPU that
// requests leave, not compete with them: at a flash sale's open, the first orders' mail jobs cost
// the worker ~0.2 s of CPU in the very second the API is busiest. Jobs only start later; nothing is
// lost (their locks are renewed every JOBS_LOCK_DURATION_MS / 2, which a lowered priority still
// allows). On a host of its own the nice value changes nothing.
import { readdirSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'
import { logger } from '../infra/logger'

/**
 * Lowers every thread of this process to `nice` (Linux keeps a nice value per thread, and the
 * runtime's GC, JIT and I/O threads already exist at boot); threads started later inherit it from
 * their creator. Never raises a priority (that needs privileges). Returns the main thread's value.
 */
export function lowerCpuPriority(nice: number): number {
  if (nice <= 0) return getPriority()
  let threads: number[]
  try {
    threads = readdirSync('/proc/self/task').map(Number)
  } catch {
    threads = [0] // no /proc (not Linux): the calling thread, which on macOS is the whole process
  }
  for (const tid of threads) {
    try {
      if (getPriority(tid) < nice) setPriority(tid, nice)
    } catch (err) {
      // A thread that exited between the listing and here (Bun reports it as ERR_SYSTEM_ERROR with
      // the errno in `info`); anything else is worth a line.
      const e = err as { info?: { code?: string }; message?: string }
      if (e.info?.code !== 'ESRCH' && !/ESRCH/.test(e.message ?? ''))
        logger.warn({ err: (err as Error).message, tid }, 'could not lower a thread priority')
    }
  }
  return getPriority()
}
