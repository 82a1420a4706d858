// Dense-factor helpers the API needs to serve learned models (no training code here).

/** Scores of every row of Y (n×k, row-major) against x: x·y_i. */
export function scoreAll(x: ArrayLike<number>, Y: Float32Array, k: number): Float64Array {
  const n = Y.length / k
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let s = 0
    const o = i * k
    for (let a = 0; a < k; a++) s += (x[a] as number) * (Y[o + a] as number)
    out[i] = s
  }
  return out
}

/** Indices of the `n` largest scores, best first, skipping `exclude`; ties by lower index. */
export function topN(scores: ArrayLike<number>, n: number, exclude: (i: number) => boolean = () => false): number[] {
  const best: number[] = []
  for (let i = 0; i < scores.length; i++) {
    if (exclude(i)) continue
    const s = scores[i] as number
    if (best.length === n && s <= (scores[best[n - 1] as number] as number)) continue
    let at = best.length
    while (at > 0 && (scores[best[at - 1] as number] as number) < s) at--
    best.splice(at, 0, i)
    if (best.length > n) best.pop()
  }
  return best
}

export const sigmoid = (z: number) => 1 / (1 + Math.exp(-z))
