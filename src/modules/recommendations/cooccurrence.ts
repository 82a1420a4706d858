// Co-occurrence model math, framework-free (used by the rebuild, the incremental update and the
// offline eval). Products get dense integer indices; pair counts live in an open-addressing hash
// over typed arrays (16 bytes a slot), so memory is bounded by distinct pairs, not by orders.
//
// Why cosine (Ochiai): c(a,b) / sqrt(n(a)·n(b)). Raw counts rank best-sellers first for every
// product (they co-occur with everything); lift over-rewards rare products (one shared order
// between two once-sold items scores huge); cosine sits between and needs no global order count,
// so the incremental update can recompute it exactly from per-product counts. Jaccard behaves
// almost the same; scripts/eval-recs.ts compares all four on the planted dataset.

export type Measure = 'cosine' | 'jaccard' | 'lift' | 'count'
export type Neighbour = { id: string; score: number; support: number }

/** Largest basket that is paired: a 200-line B2B order would add 19,900 pairs of little signal. */
export const MAX_BASKET = 50

export function score(measure: Measure, c: number, na: number, nb: number, orders: number): number {
  switch (measure) {
    case 'cosine':
      return c / Math.sqrt(na * nb)
    case 'jaccard':
      return c / (na + nb - c)
    case 'lift':
      return (c * orders) / (na * nb)
    case 'count':
      return c
  }
}

/** Neighbour order: score desc, then support desc, then id — deterministic across runs. */
export const byRank = (x: Neighbour, y: Neighbour) => y.score - x.score || y.support - x.support || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0)

// Pair key = a · 2^26 + b (a < b < 2^26 products) is an exact integer in a float64.
const SHIFT = 2 ** 26

class PairCounts {
  private keys = new Float64Array(1 << 16).fill(-1)
  private counts = new Uint32Array(1 << 16)
  size = 0

  add(a: number, b: number): void {
    if (this.size * 2 >= this.keys.length) this.grow()
    const k = a * SHIFT + b
    const mask = this.keys.length - 1
    let i = hash(k) & mask
    for (;;) {
      const cur = this.keys[i] as number
      if (cur === k) {
        ;(this.counts[i] as number)++
        return
      }
      if (cur === -1) {
        this.keys[i] = k
        this.counts[i] = 1
        this.size++
        return
      }
      i = (i + 1) & mask
    }
  }

  forEach(fn: (a: number, b: number, c: number) => void): void {
    for (let i = 0; i < this.keys.length; i++) {
      const k = this.keys[i] as number
      if (k !== -1) fn(Math.floor(k / SHIFT), k % SHIFT, this.counts[i] as number)
    }
  }

  get bytes(): number {
    return this.keys.byteLength + this.counts.byteLength
  }

  private grow(): void {
    const oldKeys = this.keys
    const oldCounts = this.counts
    this.keys = new Float64Array(oldKeys.length * 2).fill(-1)
    this.counts = new Uint32Array(oldKeys.length * 2)
    const mask = this.keys.length - 1
    for (let j = 0; j < oldKeys.length; j++) {
      const k = oldKeys[j] as number
      if (k === -1) continue
      let i = hash(k) & mask
      while (this.keys[i] !== -1) i = (i + 1) & mask
      this.keys[i] = k
      this.counts[i] = oldCounts[j] as number
    }
  }
}

function hash(k: number): number {
  const lo = k >>> 0
  const hi = Math.floor(k / 4294967296) >>> 0
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

export class CooccurrenceCounter {
  private readonly index = new Map<string, number>()
  readonly ids: string[] = []
  private itemCounts = new Uint32Array(1024)
  private readonly pairs = new PairCounts()
  orders = 0
  lines = 0

  private idx(id: string): number {
    let i = this.index.get(id)
    if (i === undefined) {
      i = this.ids.length
      this.index.set(id, i)
      this.ids.push(id)
      if (i >= this.itemCounts.length) {
        const bigger = new Uint32Array(this.itemCounts.length * 2)
        bigger.set(this.itemCounts)
        this.itemCounts = bigger
      }
    }
    return i
  }

  /** One completed order's products (duplicates ignored). */
  addOrder(productIds: readonly string[]): void {
    const basket = [...new Set(productIds)].slice(0, MAX_BASKET).map((id) => this.idx(id))
    basket.sort((x, y) => x - y)
    this.orders++
    this.lines += basket.length
    for (let i = 0; i < basket.length; i++) {
      const a = basket[i] as number
      ;(this.itemCounts[a] as number)++
      for (let j = i + 1; j < basket.length; j++) this.pairs.add(a, basket[j] as number)
    }
  }

  /** Orders containing the product. */
  count(id: string): number {
    const i = this.index.get(id)
    return i === undefined ? 0 : (this.itemCounts[i] as number)
  }

  get pairCount(): number {
    return this.pairs.size
  }

  get bytes(): number {
    return this.pairs.bytes + this.itemCounts.byteLength
  }

  /** Top-k neighbours per product among pairs bought together in ≥ minSupport orders. */
  topK(opts: { k: number; minSupport: number; measure: Measure }): Map<string, Neighbour[]> {
    const lists = new Map<number, Neighbour[]>()
    const push = (p: number, n: Neighbour) => {
      const l = lists.get(p)
      if (l) l.push(n)
      else lists.set(p, [n])
    }
    this.pairs.forEach((a, b, c) => {
      if (c < opts.minSupport) return
      const s = score(opts.measure, c, this.itemCounts[a] as number, this.itemCounts[b] as number, this.orders)
      push(a, { id: this.ids[b] as string, score: s, support: c })
      push(b, { id: this.ids[a] as string, score: s, support: c })
    })
    const out = new Map<string, Neighbour[]>()
    for (const [p, l] of lists) out.set(this.ids[p] as string, l.sort(byRank).slice(0, opts.k))
    return out
  }

  /** Products by number of orders, best first. */
  popular(limit: number): { id: string; orders: number }[] {
    return this.ids
      .map((id, i) => ({ id, orders: this.itemCounts[i] as number }))
      .sort((x, y) => y.orders - x.orders || (x.id < y.id ? -1 : 1))
      .slice(0, limit)
  }
}

/**
 * "Recommended for you": sums the neighbour vectors of the user's purchases (most recent first,
 * each weighted 0.95^i so recent taste counts more), drops what they already bought.
 */
export function aggregateNeighbours(
  purchasesRecentFirst: readonly string[],
  neighbours: (id: string) => readonly { id: string; score: number }[] | undefined,
  limit: number,
  owned: ReadonlySet<string> = new Set(purchasesRecentFirst),
): { id: string; score: number }[] {
  const acc = new Map<string, number>()
  purchasesRecentFirst.forEach((p, i) => {
    const w = 0.95 ** i
    for (const n of neighbours(p) ?? []) if (!owned.has(n.id)) acc.set(n.id, (acc.get(n.id) ?? 0) + w * n.score)
  })
  return [...acc]
    .map(([id, score]) => ({ id, score }))
    .sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1))
    .slice(0, limit)
}
