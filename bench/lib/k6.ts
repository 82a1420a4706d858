// What both k6 benches share: where the binary is, and how it runs next to the system under test.
import { existsSync } from 'node:fs'

/** `K6` if set, else ~/go/bin/k6 (what `.ci/run` builds), else one on the PATH. */
export const k6Binary: string | undefined =
  process.env.K6 ??
  [`${process.env.HOME}/go/bin/k6`, '/usr/local/bin/k6', '/usr/bin/k6'].find((p) => existsSync(p)) ??
  Bun.which('k6') ??
  undefined

/**
 * k6 shares the 2 cores with the APIs, Postgres and Redis. Its Go collector, left at its defaults,
 * scanned the ~150 MB live heap of 1,000 VUs every 2–3 s, taking ~200 ms of CPU each time: the
 * sale's latency spiked mid-run with k6 at 1.5 cores and the APIs idle. A 10 s run allocates a few
 * hundred MB, so k6 collects only past 2 GiB (an operator can still override both).
 */
export const k6Env = { GOGC: process.env.GOGC ?? 'off', GOMEMLIMIT: process.env.GOMEMLIMIT ?? '2GiB' }
