// The flash-sale bench's CPU accounting (bench/lib/cpu.ts): it reads /proc, so it is checked
// against CPU this test burns itself, and against the machine's real Postgres.
import { describe, expect, test } from 'bun:test'
import { sql } from '../../src/infra/db'
import { cpuBetween, cpuMs, cpuSnapshot } from './cpu'

describe('bench CPU accounting', () => {
  test('counts what the kernel says this process used (getrusage), in ms', () => {
    const before = cpuSnapshot({ self: [process.pid] })
    const usage = process.cpuUsage()
    const wall = performance.now()
    let x = 0
    // ~300 ms of CPU by getrusage (independent of /proc); bounded in case the machine starves us.
    while (process.cpuUsage(usage).user < 300_000 && performance.now() - wall < 10_000) for (let i = 0; i < 1e5; i++) x += i
    const d = process.cpuUsage(usage)
    const used = cpuBetween(before, cpuSnapshot({ self: [process.pid] }))
    expect(x).toBeGreaterThan(0)
    // /proc counts 10 ms ticks: within a few ticks of getrusage's microseconds.
    expect(Math.abs(used.self! - (d.user + d.system) / 1000)).toBeLessThan(40)
  })

  test('finds the Postgres server processes by name and counts the work of a backend', async () => {
    const conn = await sql.reserve() // one backend for both statements
    try {
      const [row] = await conn<{ pid: number }[]>`select pg_backend_pid() as pid`
      const pid = row!.pid
      const mine = cpuMs(pid)
      const before = cpuSnapshot({})
      // ~300 ms of work in this backend (the machine's Postgres, a local server).
      await conn`select count(*) from generate_series(1, 3000000)`
      const used = cpuMs(pid) - mine
      // This backend alone: other clients of the shared server cannot make this pass.
      expect(used).toBeGreaterThanOrEqual(100)
      // And the group found by name includes it.
      expect(cpuBetween(before, cpuSnapshot({})).postgres).toBeGreaterThanOrEqual(used - 10)
    } finally {
      conn.release()
    }
  })

  test('a process that is gone counts as 0, not as an error', () => {
    expect(cpuMs(2 ** 22 + 12345)).toBe(0)
  })
})
