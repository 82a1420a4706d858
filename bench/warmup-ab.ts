// Is the boot warm-up (WARMUP_ROUNDS) worth it for users? Same run, alternating: API processes
// started with WARMUP_ROUNDS=0 and with the default, and the latency of the first requests a
// client sends once each process answers /health (a checkout without Idempotency-Key → 400, an
// invalid one → 422, a product page list → 200). Writes bench/results/warmup-ab.json.
// Env: PAIRS (4), FIRST (10 requests of each kind measured per process), ROUNDS (300).
import { writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { benchDatabase, startBenchApi } from './lib/instance'

const PAIRS = Number(process.env.PAIRS ?? 4)
const FIRST = Number(process.env.FIRST ?? 10)
const ROUNDS = process.env.ROUNDS ?? '300'
const database = await benchDatabase('warmup')
const env = (rounds: string) => ({
  DATABASE_URL: database.url,
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  REDIS_PREFIX: database.prefix,
  WARMUP_ROUNDS: rounds,
  JOBS_ENABLED: 'false',
  LOG_LEVEL: 'warn',
  RATE_LIMIT_ENABLED: 'false',
})

async function stop(proc: Bun.Subprocess) {
  proc.kill('SIGTERM')
  await proc.exited
}

async function timed(url: string, init?: RequestInit): Promise<number> {
  const t0 = performance.now()
  const res = await fetch(url, init)
  await res.arrayBuffer()
  return performance.now() - t0
}

type Sample = { rounds: string; order400: number[]; order422: number[]; products: number[] }
const samples: Sample[] = []
try {
  // A buyer's token, from a process that is not measured.
  const setup = await startBenchApi(env('0'), { portBase: 24000 })
  const email = `warmup-ab-${Date.now()}@example.com`
  const reg = await fetch(`${setup.base}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'warm-up-A/B-password-1', name: 'A/B' }),
  })
  const { accessToken } = (await reg.json()) as { accessToken: string }
  await stop(setup.proc)
  if (!accessToken) throw new Error(`register failed: ${reg.status}`)
  const order = (body: unknown) => ({
    method: 'POST',
    headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  for (let i = 0; i < PAIRS * 2; i++) {
    const rounds = i % 2 === 0 ? '0' : ROUNDS
    const { base, proc } = await startBenchApi(env(rounds), { portBase: 25000 })
    const s: Sample = { rounds, order400: [], order422: [], products: [] }
    for (let j = 0; j < FIRST; j++) {
      s.order400.push(await timed(`${base}/api/v1/orders`, order({ items: [{ productId: Bun.randomUUIDv7(), quantity: 1 }] })))
      s.order422.push(await timed(`${base}/api/v1/orders`, order({ items: [] })))
      s.products.push(await timed(`${base}/api/v1/products?limit=5`))
    }
    await stop(proc)
    samples.push(s)
    console.log(rounds, 'first ms', s.order400[0]?.toFixed(1), s.order422[0]?.toFixed(1), s.products[0]?.toFixed(1))
  }
} finally {
  await database.drop()
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const summary = (rounds: string) => {
  const ss = samples.filter((s) => s.rounds === rounds)
  const kinds = ['order400', 'order422', 'products'] as const
  return Object.fromEntries(
    kinds.map((k) => [
      k,
      {
        firstMsMedian: Math.round(median(ss.map((s) => s[k][0] as number)) * 10) / 10,
        firstTenSumMsMedian: Math.round(median(ss.map((s) => s[k].reduce((a, b) => a + b, 0))) * 10) / 10,
      },
    ]),
  )
}
const result = { when: new Date().toISOString(), pairs: PAIRS, first: FIRST, cold: summary('0'), warm: summary(ROUNDS), samples }
writeFileSync(resolve(import.meta.dir, 'results/warmup-ab.json'), `${JSON.stringify(result, null, 2)}\n`)
console.log(JSON.stringify({ cold: result.cold, warm: result.warm }, null, 2))
