// WORKER_NICE: a worker-only process runs every one of its threads at the lowered priority, so its
// jobs yield to API processes on the same host. A real worker process; its threads are listed in
// /proc/<pid>/task and each one's nice value asked of the kernel (getpriority on the thread id).
import { expect, test } from 'bun:test'
import { readdirSync } from 'node:fs'
import { getPriority } from 'node:os'
import { config } from '../src/config'
import { startWorkerProcess } from './jobs-helpers'

function threadNices(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      return [getPriority(Number(tid))]
    } catch {
      return [] // the thread exited since the listing
    }
  })
}

test('a worker process lowers every thread to WORKER_NICE (the default, 19); 0 leaves it alone', async () => {
  const base = threadNices(process.pid)[0] as number
  expect(base).toBeLessThan(19) // otherwise there is nothing to lower (children inherit the runner's)
  const niced = await startWorkerProcess({ WORKER_NICE: String(config.WORKER_NICE) })
  const plain = await startWorkerProcess({ WORKER_NICE: '0' })
  try {
    expect(config.WORKER_NICE).toBe(19) // this runner sets no WORKER_NICE: the default
    const nices = threadNices(niced.proc.pid)
    expect(nices.length).toBeGreaterThan(1) // the runtime's threads, not only the main one
    expect(new Set(nices)).toEqual(new Set([19]))
    expect(niced.output()).toContain('worker CPU priority (WORKER_NICE)')
    expect(new Set(threadNices(plain.proc.pid))).toEqual(new Set([base]))
  } finally {
    await Promise.all([niced.stop(), plain.stop()])
  }
})
