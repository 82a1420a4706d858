// The soft memory limit (src/infra/memory-limit.ts): its policy on a scripted RSS and clock, then
// the real thing, in this process and in an API process started with a limit below any working set.
import { expect, test } from 'bun:test'
import { registry } from '../src/infra/metrics'
import { MAX_GAP_MS, MIN_GAP_MS, memoryGovernor } from '../src/tuning/memory-limit'
import { startApi } from './helpers'

const MB = 2 ** 20

function scripted(rssMb: number[]) {
  let clock = 0
  let collected = 0
  const deps = {
    rss: () => (rssMb.shift() ?? 0) * MB,
    collect: () => void collected++,
    now: () => clock,
  }
  const advance = (ms: number) => {
    clock += ms
  }
  return { deps, advance, collected: () => collected }
}

test('collects only when over the limit, at most once per gap; backs off while a collection cannot get under it', () => {
  // Each check reads RSS once, and once more after a collection.
  const s = scripted([100, 150, 120, 150, 150, 160, 150, 155, 150, 150, 120])
  const g = memoryGovernor(140 * MB, s.deps)
  expect(g.check()).toBe(false) // 100: under
  expect(g.check()).toBe(true) // 150 → collect → 120: under again, gap stays
  expect(g.gapMs).toBe(MIN_GAP_MS)
  expect(g.check()).toBe(false) // 150 but within the gap
  s.advance(MIN_GAP_MS)
  expect(g.check()).toBe(true) // 150 → collect → 160: still over, gap doubles
  expect(g.gapMs).toBe(MIN_GAP_MS * 2)
  s.advance(MIN_GAP_MS)
  expect(g.check()).toBe(false) // 150, only half the new gap has passed
  s.advance(MIN_GAP_MS)
  expect(g.check()).toBe(true) // 155 → collect → 150: still over
  expect(g.gapMs).toBe(MIN_GAP_MS * 4)
  s.advance(MIN_GAP_MS * 4)
  expect(g.check()).toBe(true) // 150 → collect → 120: under, gap back to the minimum
  expect(g.gapMs).toBe(MIN_GAP_MS)
  expect(s.collected()).toBe(4)
})

test('the back-off is capped', () => {
  const s = scripted(Array(200).fill(500))
  const g = memoryGovernor(1 * MB, s.deps)
  for (let i = 0; i < 20; i++) {
    s.advance(MAX_GAP_MS)
    g.check()
  }
  expect(g.gapMs).toBe(MAX_GAP_MS)
})

test('with the real collector: a limit below the working set collects, counts it and backs off', async () => {
  const count = async () => (await registry.getSingleMetric('memory_soft_limit_collections_total')?.get())?.values[0]?.value ?? 0
  const before = await count()
  const g = memoryGovernor(1 * MB)
  expect(g.check()).toBe(true)
  expect(await count()).toBe(before + 1)
  expect(g.gapMs).toBe(MIN_GAP_MS * 2)
  expect(g.check()).toBe(false) // within the gap
})

test('an API process started with MEMORY_SOFT_LIMIT_MB runs the governor', async () => {
  const api = await startApi({ MEMORY_SOFT_LIMIT_MB: '1', LOG_LEVEL: 'warn' }, { stdout: 'pipe' })
  try {
    let metrics = ''
    for (let i = 0; i < 50 && !/memory_soft_limit_collections_total [1-9]/.test(metrics); i++) {
      metrics = await (await fetch(`${api.url}/metrics`)).text()
      await Bun.sleep(100)
    }
    expect(metrics).toMatch(/memory_soft_limit_collections_total [1-9]/)
  } finally {
    await api.stop()
  }
  const log = await new Response(api.proc.stdout as ReadableStream).text()
  expect(log).toContain('memory soft limit: a full collection did not bring RSS under the limit')
})
