// Deterministic randomness for the seed: a tiny PRNG (mulberry32), weighted sampling and UUIDv7-shaped
// ids drawn from it, so the same --seed produces byte-identical data (ids included).

export type Rng = {
  /** uniform in [0, 1) */
  next(): number
  /** integer in [lo, hi] */
  int(lo: number, hi: number): number
  pick<T>(xs: readonly T[]): T
  chance(p: number): boolean
  /** a UUIDv7 whose timestamp is `ms` and whose random bits come from this generator */
  uuidv7(ms: number): string
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Independent streams per purpose ("users", "orders"…), so adding draws to one never shifts another. */
export function rng(seed: number, stream: string): Rng {
  let h = 2166136261 ^ seed
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 16777619)
  const next = mulberry32(h >>> 0)
  const hex = (digits: number) =>
    Math.floor(next() * 16 ** digits)
      .toString(16)
      .padStart(digits, '0')
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)] as (typeof xs)[number],
    chance: (p) => next() < p,
    uuidv7(ms) {
      const ts = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0').slice(-12)
      const variant = (8 + Math.floor(next() * 4)).toString(16)
      return `${ts.slice(0, 8)}-${ts.slice(8)}-7${hex(3)}-${variant}${hex(3)}-${hex(6)}${hex(6)}`
    },
  }
}

/** O(log n) sampling from fixed weights (cumulative sums + binary search). */
export class WeightedSampler<T> {
  private readonly cum: Float64Array
  constructor(
    readonly items: readonly T[],
    weights: readonly number[],
  ) {
    this.cum = new Float64Array(items.length)
    let s = 0
    for (let i = 0; i < items.length; i++) {
      s += weights[i] ?? 0
      this.cum[i] = s
    }
  }
  sample(r: Rng): T {
    const total = this.cum[this.cum.length - 1] ?? 0
    const x = r.next() * total
    let lo = 0
    let hi = this.cum.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.cum[mid] as number) > x) hi = mid
      else lo = mid + 1
    }
    return this.items[lo] as T
  }
}

/** Fisher–Yates shuffle of a copy. */
export function shuffled<T>(r: Rng, xs: readonly T[]): T[] {
  const a = xs.slice()
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r.next() * (i + 1))
    ;[a[i], a[j]] = [a[j] as T, a[i] as T]
  }
  return a
}

/** Inserts rows in chunks (postgres.js bulk insert); keeps each statement under the parameter limit. */
export async function insertChunked(
  // biome-ignore lint/suspicious/noExplicitAny: postgres.js Sql or TransactionSql
  sql: any,
  table: string,
  rows: Record<string, unknown>[],
  chunk = 4000,
): Promise<void> {
  // Dates go as ISO strings: Drizzle's postgres-js driver replaces the client's date serializers.
  const plain = (row: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]))
  for (let i = 0; i < rows.length; i += chunk) {
    await sql`insert into ${sql(table)} ${sql(rows.slice(i, i + chunk).map(plain))}`
  }
}
