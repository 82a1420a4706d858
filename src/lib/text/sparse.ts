// Sparse vectors: parallel sorted index/value arrays, so dot products are a merge, not a hash walk.
export interface SparseVector {
  /** Term indices, strictly increasing. */
  indices: Uint32Array
  values: Float64Array
}

export function sparseFromMap(m: Map<number, number>): SparseVector {
  const keys = [...m.keys()].sort((a, b) => a - b)
  const indices = new Uint32Array(keys.length)
  const values = new Float64Array(keys.length)
  keys.forEach((k, i) => {
    indices[i] = k
    values[i] = m.get(k) as number
  })
  return { indices, values }
}

export function dot(a: SparseVector, b: SparseVector): number {
  let i = 0
  let j = 0
  let s = 0
  const ai = a.indices
  const bi = b.indices
  while (i < ai.length && j < bi.length) {
    const x = ai[i] as number
    const y = bi[j] as number
    if (x === y) s += (a.values[i++] as number) * (b.values[j++] as number)
    else if (x < y) i++
    else j++
  }
  return s
}

export function norm(a: SparseVector): number {
  let s = 0
  for (const v of a.values) s += v * v
  return Math.sqrt(s)
}

/** Cosine similarity; 0 when either vector is empty (no shared evidence, not NaN). */
export function cosine(a: SparseVector, b: SparseVector): number {
  const na = norm(a)
  const nb = norm(b)
  if (na === 0 || nb === 0) return 0
  return dot(a, b) / (na * nb)
}

/** A copy scaled to unit L2 length (empty stays empty). */
export function normalize(a: SparseVector): SparseVector {
  const n = norm(a)
  const values = new Float64Array(a.values.length)
  if (n > 0) for (let i = 0; i < values.length; i++) values[i] = (a.values[i] as number) / n
  return { indices: a.indices.slice(), values }
}
