// The CPU one sold-out POST /orders costs the API process, measured in-process (app.handle, no
// socket, no k6): the number the flash-sale bound is about, without the machine's noise of a full
// benchmark. A fresh database and Redis prefix per code tree, 50 buyers, a product with 0 units,
// 50 requests in flight with unique Idempotency-Keys; µs of process CPU (process.cpuUsage) per
// refusal, one child process per repetition, trees alternating so both see the same minute.
//
//   bun bench/sold-out-cpu.ts                      this tree only
//   bun bench/sold-out-cpu.ts /path/to/other/tree… A/B: other trees (e.g. git worktrees of older
//                                                  commits, installed) against this one (last)
// Env: REPS (5), REFUSALS (15000 measured per repetition), WARM (5000 refusals before measuring).
// Writes bench/results/sold-out-cpu.json. Needs DATABASE_URL (a server; a database is created and
// dropped per tree) and REDIS_URL.
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import postgres from 'postgres'

const here = resolve(import.meta.dir, '..')
const REPS = Number(process.env.REPS ?? 5)
const REFUSALS = Number(process.env.REFUSALS ?? 15_000)
const WARM = Number(process.env.WARM ?? 5_000)
const IN_FLIGHT = 50

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

/** One repetition, in a child process whose env points at the tree's database and prefix. */
async function child(root: string): Promise<void> {
  const { app } = await import(`${root}/src/app.ts`)
  const { createUser } = await import(`${root}/tests/helpers.ts`)
  const { productWithStock } = await import(`${root}/tests/inventory-fixtures.ts`)
  // Steady state of a deployment: the worker has found Redis's epoch and seeded the claim markers.
  const idem = await import(`${root}/src/plugins/idempotency`)
  if (typeof idem.seedClaimMarkers === 'function') await idem.seedClaimMarkers()
  const users = await Promise.all(Array.from({ length: IN_FLIGHT }, () => createUser()))
  const productId = await productWithStock(0)
  const body = JSON.stringify({ items: [{ productId, quantity: 1 }] })
  let seq = 0
  const run = async (n: number) => {
    let next = 0
    let bad = 0
    const worker = async (token: string) => {
      while (next < n) {
        next++
        const res: Response = await app.handle(
          new Request('http://localhost/api/v1/orders', {
            method: 'POST',
            headers: {
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
              'idempotency-key': `cpu-${process.pid}-${seq++}`,
            },
            body,
          }),
        )
        await res.arrayBuffer()
        if (res.status !== 409) bad++
      }
    }
    await Promise.all(users.map((u: { token: string }) => worker(u.token)))
    if (bad > 0) throw new Error(`${bad} of ${n} answers were not 409`)
  }
  await run(WARM)
  Bun.gc(true)
  const t0 = process.cpuUsage()
  await run(REFUSALS)
  const d = process.cpuUsage(t0)
  console.log(JSON.stringify({ usPerRefusal: (d.user + d.system) / REFUSALS }))
  process.exit(0)
}

async function main(): Promise<void> {
  const server = process.env.DATABASE_URL
  if (!server || !process.env.REDIS_URL) throw new Error('set DATABASE_URL (a server) and REDIS_URL')
  const trees = [...process.argv.slice(2).map((t) => resolve(t)), here]
  const admin = postgres(server, { max: 1, onnotice: () => {} })
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`
  const setups = await Promise.all(
    trees.map(async (root, i) => {
      const db = `stampede_cpu_${runId}_${i}`
      await admin.unsafe(`create database "${db}"`)
      const u = new URL(server)
      u.pathname = `/${db}`
      const { runMigrations } = await import(`${root}/db/migrate.ts`)
      await runMigrations(u.toString())
      return { root, db, url: u.toString(), prefix: `stampede-cpu-${runId}-${i}`, us: [] as number[] }
    }),
  )
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const s of setups) {
        const proc = Bun.spawn(['bun', import.meta.path, '--child', s.root], {
          cwd: s.root,
          env: {
            ...process.env,
            NODE_ENV: 'test',
            DATABASE_URL: s.url,
            REDIS_PREFIX: s.prefix,
            LOG_LEVEL: 'silent',
            RATE_LIMIT_WRITE: '100000000/60',
            RATE_LIMIT_READ: '100000000/60',
            INVENTORY_STRATEGY: 'gated',
          },
          stdout: 'pipe',
          stderr: 'inherit',
        })
        const out = await new Response(proc.stdout).text()
        if ((await proc.exited) !== 0) throw new Error(`child failed for ${s.root}: ${out}`)
        const us = (JSON.parse(out.trim().split('\n').pop() as string) as { usPerRefusal: number }).usPerRefusal
        s.us.push(us)
        console.log(`rep ${rep + 1} ${s.root}: ${us.toFixed(1)} µs/refusal`)
      }
    }
  } finally {
    for (const s of setups) await admin.unsafe(`drop database if exists "${s.db}" with (force)`)
    await admin.end()
  }
  const result = {
    refusalsPerRep: REFUSALS,
    inFlight: IN_FLIGHT,
    reps: REPS,
    trees: setups.map((s) => ({
      root: s.root,
      usPerRefusal: s.us.map((x) => Math.round(x * 10) / 10),
      median: Math.round(median(s.us) * 10) / 10,
    })),
  }
  // Per repetition, this tree against the first one (they ran a minute apart): steadier than the
  // ratio of medians when the machine's load drifts.
  const base = setups[0] as { us: number[] }
  const mine = setups[setups.length - 1] as { us: number[] }
  const pairRatios = mine.us.map((u, i) => u / (base.us[i] as number))
  for (const t of result.trees) console.log(`median CPU per sold-out refusal: ${t.median} µs  ${t.root}`)
  if (setups.length > 1)
    console.log(
      `this tree / first tree: ratio of medians ${(median(mine.us) / median(base.us)).toFixed(3)}, median of paired ratios ${median(pairRatios).toFixed(3)}`,
    )
  Object.assign(result, { pairedRatioMedian: Math.round(median(pairRatios) * 1000) / 1000 })
  mkdirSync(resolve(here, 'bench/results'), { recursive: true })
  await Bun.write(resolve(here, 'bench/results/sold-out-cpu.json'), `${JSON.stringify(result, null, 2)}\n`)
}

if (process.argv[2] === '--child') await child(resolve(process.argv[3] as string))
else await main()
