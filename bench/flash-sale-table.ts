// Result rows of the flash-sale benchmark, the printed table and the target ratios.
export type Strategy = 'gated' | 'pessimistic' | 'optimistic'

export type Row = {
  scenario: 'health' | 'sale' | 'sale-warm' | 'deep-stock' | 'engine-sale' | 'engine-deep'
  strategy: Strategy | '-'
  attemptsPerSec: number
  succeeded: number
  successesPerSec: number
  rejected: number
  errors: number
  serverErrors: number
  timeouts: number
  dropped: number
  p50: number
  p95: number
  p99: number
  /** p99 of the 409 answers alone (the sold-out rejections); 0 where there were none. */
  rejP99: number
  oversell: number
  rssMb: number
  mismatches: number
  thresholdsPassed: boolean
  /**
   * Deep stock over HTTP: CPU ms per successful reservation by process group (bench/lib/cpu.ts),
   * during the sale and until the worker had caught up with its mail jobs (k6's includes the
   * start of its 1,000 VUs). Across runs: the median of each group.
   */
  cpuMsPerReservation?: { sale: Record<string, number>; caughtUp: Record<string, number> }
}

export function printTable(rows: Row[], pgbenchTps: number | null, title: string) {
  const f = (n: number, d = 0) => n.toFixed(d)
  console.log(`\n${title}`)
  console.log(
    'scenario    strategy     attempts/s  succeeded  succ/s   rejected  errors(5xx/timeout)  dropped  p50ms  p95ms  p99ms  409p99  oversell  RSS MB  check',
  )
  for (const r of rows) {
    console.log(
      `${r.scenario.padEnd(11)} ${r.strategy.padEnd(12)} ${f(r.attemptsPerSec).padStart(10)} ${f(r.succeeded).padStart(10)} ${f(r.successesPerSec).padStart(7)} ${f(r.rejected).padStart(9)} ${`${f(r.errors)} (${f(r.serverErrors)}/${f(r.timeouts)})`.padStart(20)} ${f(r.dropped).padStart(8)} ${f(r.p50, 1).padStart(6)} ${f(r.p95, 1).padStart(6)} ${f(r.p99, 1).padStart(6)} ${f(r.rejP99, 1).padStart(7)} ${f(r.oversell).padStart(9)} ${f(r.rssMb).padStart(7)}  ${r.mismatches ? `${r.mismatches} MISMATCH` : 'clean'}`,
    )
  }
  const cores = navigator.hardwareConcurrency
  const cpuRows = rows.filter((x) => x.cpuMsPerReservation)
  for (const r of cpuRows) {
    const cpu = r.cpuMsPerReservation as NonNullable<Row['cpuMsPerReservation']>
    const line = (w: Record<string, number>) => {
      const all = Object.values(w).reduce((a, b) => a + b, 0)
      const system = all - (w.k6 ?? 0)
      const groups = Object.entries(w).map(([g, ms]) => `${g} ${ms.toFixed(3)}`)
      return `${groups.join(', ')}; ${all.toFixed(3)} in all (at most ${f((cores * 1000) / all)}/s on ${cores} cores), ${system.toFixed(3)} without the load generator (${f((cores * 1000) / system)}/s)`
    }
    console.log(`${r.scenario}/${r.strategy} CPU ms per reservation, during the sale: ${line(cpu.sale)}`)
    console.log(`${r.scenario}/${r.strategy} CPU ms per reservation, until the worker caught up: ${line(cpu.caughtUp)}`)
  }
  if (cpuRows.length && pgbenchTps)
    console.log(
      `to reach 2 × the pgbench ceiling, a reservation may cost at most ${((cores * 1000) / (2 * pgbenchTps)).toFixed(3)} CPU ms on ${cores} cores`,
    )
  const ratios = computeRatios(rows, pgbenchTps)
  console.log(`pgbench single-row conditional UPDATE ceiling: ${pgbenchTps === null ? 'n/a' : `${f(pgbenchTps)} tps`}`)
  for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v === null ? 'n/a' : v.toFixed(2)}`)
}

export function computeRatios(rows: Row[], pgbenchTps: number | null): Record<string, number | null> {
  const find = (s: Row['scenario'], st: Row['strategy']) => rows.find((r) => r.scenario === s && r.strategy === st)
  const health = find('health', '-')
  const gs = find('sale', 'gated')
  const gw = find('sale-warm', 'gated')
  const gd = find('deep-stock', 'gated')
  const pd = find('deep-stock', 'pessimistic')
  const ge = find('engine-deep', 'gated')
  const pe = find('engine-deep', 'pessimistic')
  const gse = find('engine-sale', 'gated')
  return {
    'gated sold-out attempts/s ÷ GET /health rate (target ≥ 0.5)': health && gs ? gs.attemptsPerSec / health.attemptsPerSec : null,
    'gated sold-out p99 ms, sale opening on warm instances to a connected crowd (target ≤ 50)': gw ? gw.p99 : null,
    'gated sold-out p99 ms of the 409 rejections alone, warm (target ≤ 50)': gw ? gw.rejP99 : null,
    'gated deep-stock reservations/s ÷ pgbench ceiling (target ≥ 2)': gd && pgbenchTps ? gd.successesPerSec / pgbenchTps : null,
    'engine only: gated deep-stock reservations/s ÷ pgbench ceiling': ge && pgbenchTps ? ge.successesPerSec / pgbenchTps : null,
    'engine only: gated ÷ pessimistic deep-stock reservations/s':
      ge && pe && pe.successesPerSec > 0 ? ge.successesPerSec / pe.successesPerSec : null,
    'engine only: gated sold-out attempts/s ÷ GET /health rate': gse && health ? gse.attemptsPerSec / health.attemptsPerSec : null,
    'gated ÷ pessimistic deep-stock reservations/s (target ≥ 10)':
      gd && pd && pd.successesPerSec > 0 ? gd.successesPerSec / pd.successesPerSec : null,
  }
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}
