// CPU time of the processes a benchmark measures, read from /proc (Linux): where each order's
// CPU goes, measured in the same run as its throughput, instead of a profile from another day.
import { readdirSync, readFileSync } from 'node:fs'

/** /proc times are in USER_HZ, which Linux fixes at 100 for user space. */
const TICK_MS = 10

/** utime + stime of one process (all its threads), in ms; 0 once it is gone. */
export function cpuMs(pid: number): number {
  try {
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) * TICK_MS
  } catch {
    return 0
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

export type CpuSnapshot = Map<string, Map<number, number>>

/**
 * CPU ms per process of each group; the servers (Postgres, Redis) are found by name, so
 * backends a pool opens during the measurement are counted from zero. They are the machine's
 * own servers: on a shared machine, others' queries would count too (nothing else runs here).
 */
export function cpuSnapshot(groups: Record<string, number[]>): CpuSnapshot {
  const all: Record<string, number[]> = { ...groups, postgres: pidsNamed('postgres'), redis: pidsNamed('redis-server') }
  return new Map(Object.entries(all).map(([g, pids]) => [g, new Map(pids.map((p) => [p, cpuMs(p)]))]))
}

/** CPU ms each group used between two snapshots (a process that exited in between is lost). */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [g, pids] of after) {
    let ms = 0
    for (const [pid, t] of pids) ms += Math.max(0, t - (before.get(g)?.get(pid) ?? 0))
    out[g] = ms
  }
  return out
}
