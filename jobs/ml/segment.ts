// Customer segments: K-Means (ml-kmeans, k-means++ init) on RFM features, k chosen by the mean
// silhouette. Features are log1p-transformed (orders and spend are long-tailed) and z-scored, so no
// dimension dominates the Euclidean distance. The silhouette is written here: ml-kmeans has none
// and the only npm package for it is a 0.0.x with ~1k downloads a month; it is O(n²), so it is
// computed on a deterministic sample of at most `silhouetteSample` customers.
import { kmeans } from 'ml-kmeans'
import { mulberry32 } from '../../db/seed/prng'

export type Rfm = { recencyDays: number; orders: number; monetaryCents: number }
export type SegmentParams = { kMin: number; kMax: number; silhouetteSample: number; seed?: number }
export type SegmentFit = {
  k: number
  labels: number[]
  /** centroids in the original units (mean RFM of each segment's members) */
  centroids: Rfm[]
  sizes: number[]
  silhouette: number
  /** mean silhouette per tried k */
  tried: { k: number; silhouette: number }[]
  /** population tertiles per feature, for describing centroids in words */
  tertiles: Record<keyof Rfm, [number, number]>
  transform: { mean: number[]; std: number[] }
}

const FEATURES: (keyof Rfm)[] = ['recencyDays', 'orders', 'monetaryCents']

export function featurize(rows: readonly Rfm[]): { X: number[][]; mean: number[]; std: number[] } {
  const raw = rows.map((r) => FEATURES.map((f) => Math.log1p(Math.max(0, r[f]))))
  const mean = FEATURES.map((_, j) => raw.reduce((s, x) => s + (x[j] as number), 0) / Math.max(1, raw.length))
  const std = FEATURES.map(
    (_, j) => Math.sqrt(raw.reduce((s, x) => s + ((x[j] as number) - (mean[j] as number)) ** 2, 0) / Math.max(1, raw.length)) || 1,
  )
  return { X: raw.map((x) => x.map((v, j) => (v - (mean[j] as number)) / (std[j] as number))), mean, std }
}

const dist = (a: readonly number[], b: readonly number[]) => {
  let s = 0
  for (let j = 0; j < a.length; j++) s += ((a[j] as number) - (b[j] as number)) ** 2
  return Math.sqrt(s)
}

/** Mean silhouette s(i) = (b − a) / max(a, b) over the given points (a point alone in its cluster scores 0). */
export function silhouette(X: readonly number[][], labels: readonly number[], k: number): number {
  let total = 0
  for (let i = 0; i < X.length; i++) {
    const sum = new Float64Array(k)
    const cnt = new Uint32Array(k)
    for (let j = 0; j < X.length; j++) {
      if (i === j) continue
      const l = labels[j] as number
      sum[l] = (sum[l] as number) + dist(X[i] as number[], X[j] as number[])
      ;(cnt[l] as number)++
    }
    const own = labels[i] as number
    if (cnt[own] === 0) continue
    const a = (sum[own] as number) / (cnt[own] as number)
    let b = Number.POSITIVE_INFINITY
    for (let l = 0; l < k; l++) if (l !== own && (cnt[l] as number) > 0) b = Math.min(b, (sum[l] as number) / (cnt[l] as number))
    if (Number.isFinite(b)) total += (b - a) / Math.max(a, b)
  }
  return X.length ? total / X.length : 0
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
}

export function fitSegments(rows: readonly Rfm[], params: SegmentParams): SegmentFit {
  if (rows.length < 2) throw new Error('segments: need at least 2 customers')
  const seed = params.seed ?? 42
  const { X, mean, std } = featurize(rows)
  const rand = mulberry32(seed)
  const sampleIdx =
    X.length <= params.silhouetteSample ? X.map((_, i) => i) : X.map((_, i) => i).filter(() => rand() < params.silhouetteSample / X.length)
  const sample = sampleIdx.map((i) => X[i] as number[])
  let best: { k: number; labels: number[]; score: number } | null = null
  const tried: { k: number; silhouette: number }[] = []
  const kMax = Math.min(params.kMax, rows.length - 1)
  for (let k = Math.max(2, params.kMin); k <= kMax; k++) {
    const res = kmeans(X, k, { seed, initialization: 'kmeans++', maxIterations: 100 })
    const score = silhouette(
      sample,
      sampleIdx.map((i) => res.clusters[i] as number),
      k,
    )
    tried.push({ k, silhouette: round(score) })
    if (!best || score > best.score) best = { k, labels: res.clusters, score }
  }
  if (!best) throw new Error('segments: no k to try')
  const { k, labels } = best
  const sizes = new Array<number>(k).fill(0)
  const sums = Array.from({ length: k }, () => ({ recencyDays: 0, orders: 0, monetaryCents: 0 }))
  rows.forEach((r, i) => {
    const l = labels[i] as number
    sizes[l] = (sizes[l] as number) + 1
    for (const f of FEATURES) (sums[l] as Rfm)[f] += r[f]
  })
  const centroids = sums.map((s, l) => {
    const n = Math.max(1, sizes[l] as number)
    return { recencyDays: s.recencyDays / n, orders: s.orders / n, monetaryCents: Math.round(s.monetaryCents / n) }
  })
  const tertiles = Object.fromEntries(
    FEATURES.map((f) => {
      const sorted = rows.map((r) => r[f]).sort((a, b) => a - b)
      return [f, [quantile(sorted, 1 / 3), quantile(sorted, 2 / 3)]]
    }),
  ) as SegmentFit['tertiles']
  return { k, labels, centroids, sizes, silhouette: round(best.score), tried, tertiles, transform: { mean, std } }
}

const round = (x: number) => Math.round(x * 1e4) / 1e4
