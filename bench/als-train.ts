// `bun run bench:als`: implicit-ALS training time and peak memory on 1M synthetic interactions
// (issue 25's budget: ≤ 60 s and ≤ 1 GB RSS on this box), and the serving cost of one user's
// top-N over every item (the `als` strategy's per-request work). Synthetic data with planted taste
// blocks (Zipf item popularity inside 20 blocks); CPU seconds are reported next to wall time
// because the 2-core box is shared. Writes bench/results/als-train.json.
import { parseArgs } from 'node:util'
import { mulberry32 } from '../db/seed/prng'
import { fitAls } from '../jobs/ml/als'
import { DEFAULT_PARAMS } from '../jobs/ml/params'
import { scoreAll, topN } from '../src/lib/ml/dense'

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: {
    interactions: { type: 'string', default: '1000000' },
    users: { type: 'string', default: '60000' },
    items: { type: 'string', default: '25000' },
    out: { type: 'string', default: 'bench/results/als-train.json' },
  },
})
const N = Number(values.interactions)
const U = Number(values.users)
const I = Number(values.items)
const rand = mulberry32(7)
const u = new Uint32Array(N)
const i = new Uint32Array(N)
const w = new Float32Array(N)
const BLOCKS = 20
const per = Math.floor(I / BLOCKS)
for (let n = 0; n < N; n++) {
  const user = Math.floor(rand() * U)
  const block = rand() < 0.8 ? user % BLOCKS : Math.floor(rand() * BLOCKS)
  u[n] = user
  i[n] = block * per + Math.min(per - 1, Math.floor(per * rand() ** 3))
  w[n] = rand() < 0.6 ? 1 : rand() < 0.5 ? 0.3 : 0.15
}
const p = DEFAULT_PARAMS.als
const cpu0 = process.cpuUsage()
const t0 = performance.now()
const f = fitAls({ users: U, items: I, u, i, w }, p)
const trainMs = performance.now() - t0
const cpu = process.cpuUsage(cpu0)

const lat: number[] = []
const scoreCpu0 = process.cpuUsage()
for (let r = 0; r < 2000; r++) {
  const user = Math.floor(rand() * U)
  const s = performance.now()
  const scores = scoreAll(f.X.subarray(user * p.factors, (user + 1) * p.factors), f.Y, p.factors)
  topN(scores, 100)
  lat.push(performance.now() - s)
}
const scoreCpu = process.cpuUsage(scoreCpu0)
lat.sort((a, b) => a - b)
const q = (x: number) => Math.round((lat[Math.floor(x * (lat.length - 1))] as number) * 1000) / 1000
const rssMb = Math.round(process.resourceUsage().maxRSS / 1024)
const result = {
  at: new Date().toISOString(),
  interactions: N,
  users: U,
  items: I,
  params: p,
  trainWallS: Math.round(trainMs) / 1000,
  trainCpuS: Math.round((cpu.user + cpu.system) / 1000) / 1000,
  peakRssMb: rssMb,
  scoreTopNMs: { p50: q(0.5), p95: q(0.95), p99: q(0.99), cpuMean: Math.round((scoreCpu.user + scoreCpu.system) / lat.length) / 1000 },
  budget: { trainS: 60, rssMb: 1024, servingP95Ms: 15 },
}
console.log(JSON.stringify(result, null, 2))
await Bun.write(values.out as string, `${JSON.stringify(result, null, 2)}\n`)
