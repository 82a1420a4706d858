// The flash-sale bench's CPU accounting (bench/lib/cpu.ts): it reads /proc, so it is checked
// against CPU this test burns itself, and against the machine's real Postgres.
import { describe, expect, test } from 'bun:test'
import { cpuBetween, cpuMs, cpuSnapshot } from '../bench/lib/cpu'
import { sql } from '../src/infra/db'

describe('bench CPU accounting', () => {
  test('counts the CPU a process burns, and no more than the time that passed', () => {
    const before = cpuSnapshot({ self: [process.pid] })
    const wall = performance.now()
    const start = cpuMs(process.pid)
    let x = 0
    // Burn until /proc shows 200 ms (ticks are 10 ms); bounded in case the machine starves us.
    while (cpuMs(process.pid) - start < 200 && performance.now() - wall < 10_000) for (let i = 0; i < 1e5; i++) x += i
    const elapsed = performance.now() - wall
    const used = cpuBetween(before, cpuSnapshot({ self: [process.pid] }))
    expect(x).toBeGreaterThan(0)
    expect(used.self).toBeGreaterThanOrEqual(200)
    // This process's other threads (GC, JIT) may add a little; never seconds more than the wall.
    expect(used.self!).toBeLessThan(elapsed * 2 + 50)
  })

  test('finds the Postgres server processes by name and sees the work a query gives them', async () => {
    const before = cpuSnapshot({})
    expect(before.get('postgres')!.size).toBeGreaterThan(0)
    // ~300 ms of server-side work in this connection's backend.
    await sql`select count(*) from generate_series(1, 3000000)`
    const used = cpuBetween(before, cpuSnapshot({}))
    expect(used.postgres).toBeGreaterThanOrEqual(100)
  })

  test('a process that is gone counts as 0, not as an error', () => {
    expect(cpuMs(2 ** 22 + 12345)).toBe(0)
  })
})
