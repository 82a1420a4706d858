// CPU time of the processes a benchmark measures, read from /proc (Linux): where each order's
// CPU goes, measured in the same run as its throughput, instead of a profile from another day.
import { readdirSync, readFileSync } from 'node:fs'

/** /proc times are in USER_HZ, which Linux fixes at 100 for user space. */
const TICK_MS = 10

/**
 * CPU ms of one process (all its threads) and of its children that exited and were reaped
 * (utime + stime + cutime + cstime): the postmaster collects its exited backends' time that way,
 * so a backend that ends during a measurement is not lost. 0 once the process is gone.
 */
export function cpuMs(pid: number): number {
  const f = statFields(`/proc/${pid}/stat`)
  return f ? (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * TICK_MS : 0
}

/**
 * The fields of a /proc `stat` file (a process's or a thread's) from field 3 (state) on, so field
 * N is at index N - 3; null once the process or thread is gone. The command name (field 2) may
 * hold spaces and parentheses: the fields start after its last ')'.
 */
export function statFields(path: string): string[] | null {
  try {
    const stat = readFileSync(path, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return null
  }
}

/** Every process whose command name is `comm` (Postgres backends and helpers, redis-server). */
function pidsNamed(comm: string): number[] {
  const out: number[] = []
  for (const d of readdirSync('/proc')) {
    if (d.charCodeAt(0) > 57) continue // not a pid
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trimEnd() === comm) out.push(Number(d))
    } catch {
      // exited meanwhile
    }
  }
  return out
}

/** CPU ms of each group of processes, summed. */
export type CpuSnapshot = Record<string, number>

/**
 * CPU ms of each group, plus the servers (Postgres, Redis), found by name: backends a pool opens
 * during a measurement count from zero, and those that exit are in the postmaster's children's
 * time. They are the machine's own servers: on a shared machine, others' queries would count too
 * (nothing else runs here during a bench).
 */
export function cpuSnapshot(groups: Record<string, number[]>): CpuSnapshot {
  const all: Record<string, number[]> = { ...groups, postgres: pidsNamed('postgres'), redis: pidsNamed('redis-server') }
  return Object.fromEntries(Object.entries(all).map(([g, pids]) => [g, pids.reduce((s, p) => s + cpuMs(p), 0)]))
}

/** CPU ms each group used between two snapshots. */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([g, ms]) => [g, Math.max(0, ms - (before[g] ?? 0))]))
}
