// Implicit-feedback ALS (Hu, Koren & Volinsky 2008) solved with a few conjugate-gradient steps per
// row (Takács et al. 2011, the default of Python's `implicit`): each half-iteration costs
// O(nnz·k·cgSteps + rows·k²) instead of the O(rows·k³) of a Cholesky solve per row.
// Hand-written on typed arrays: no maintained npm package implements implicit ALS, and each row
// update is a handful of k-length loops where ml-matrix would allocate a Matrix per operation.
// Training only (jobs/ and scripts/): the API loads the factors and serves dot products.
import { mulberry32 } from '../../db/seed/prng'

export type Interactions = {
  users: number
  items: number
  /** COO triplets; duplicate (u, i) pairs are summed */
  u: Uint32Array
  i: Uint32Array
  w: Float32Array
}

export type AlsParams = { factors: number; iterations: number; regularization: number; alpha: number; cgSteps: number; seed?: number }
export type AlsFactors = { factors: number; X: Float32Array; Y: Float32Array }

type Csr = { indptr: Uint32Array; indices: Uint32Array; conf: Float32Array }

/** Rows of `rows` with their (col, confidence) lists; confidence c = 1 + alpha·w (duplicates summed). */
function toCsr(rows: number, r: Uint32Array, c: Uint32Array, w: Float32Array, alpha: number): Csr {
  const count = new Uint32Array(rows + 1)
  for (const x of r) (count[x + 1] as number)++
  for (let j = 0; j < rows; j++) (count[j + 1] as number) += count[j] as number
  const indices = new Uint32Array(r.length)
  const weight = new Float32Array(r.length)
  const fill = count.slice(0, rows)
  for (let n = 0; n < r.length; n++) {
    const at = (fill[r[n] as number] as number)++
    indices[at] = c[n] as number
    weight[at] = w[n] as number
  }
  // Merge duplicates within each row (sort by column).
  const outPtr = new Uint32Array(rows + 1)
  const outIdx: number[] = []
  const outConf: number[] = []
  for (let row = 0; row < rows; row++) {
    const s = count[row] as number
    const e = count[row + 1] as number
    const order = Array.from({ length: e - s }, (_, k) => s + k).sort((a, b) => (indices[a] as number) - (indices[b] as number))
    let last = -1
    for (const k of order) {
      const col = indices[k] as number
      if (col === last) outConf[outConf.length - 1] = (outConf[outConf.length - 1] as number) + alpha * (weight[k] as number)
      else {
        outIdx.push(col)
        outConf.push(1 + alpha * (weight[k] as number))
        last = col
      }
    }
    outPtr[row + 1] = outIdx.length
  }
  return { indptr: outPtr, indices: Uint32Array.from(outIdx), conf: Float32Array.from(outConf) }
}

/** Gram matrix YᵀY + reg·I (k×k, row-major). */
function gram(Y: Float32Array, n: number, k: number, reg: number): Float64Array {
  const G = new Float64Array(k * k)
  for (let i = 0; i < n; i++) {
    const o = i * k
    for (let a = 0; a < k; a++) {
      const ya = Y[o + a] as number
      if (ya === 0) continue
      for (let b = a; b < k; b++) G[a * k + b] = (G[a * k + b] as number) + ya * (Y[o + b] as number)
    }
  }
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < a; b++) G[a * k + b] = G[b * k + a] as number
    G[a * k + a] = (G[a * k + a] as number) + reg
  }
  return G
}

/** One half-iteration: update every row of X given fixed Y (CG warm-started from the current X). */
function solve(X: Float32Array, Y: Float32Array, R: Csr, rows: number, k: number, reg: number, cgSteps: number, nY: number): void {
  const G = gram(Y, nY, k, reg)
  const x = new Float64Array(k)
  const r = new Float64Array(k)
  const p = new Float64Array(k)
  const Ap = new Float64Array(k)
  for (let u = 0; u < rows; u++) {
    const xo = u * k
    for (let a = 0; a < k; a++) x[a] = X[xo + a] as number
    // r = b − A·x with b = Σ c·y, A = G + Σ (c − 1)·y·yᵀ
    for (let a = 0; a < k; a++) {
      let s = 0
      for (let b = 0; b < k; b++) s += (G[a * k + b] as number) * (x[b] as number)
      r[a] = -s
    }
    const s0 = R.indptr[u] as number
    const e0 = R.indptr[u + 1] as number
    for (let n = s0; n < e0; n++) {
      const yo = (R.indices[n] as number) * k
      const c = R.conf[n] as number
      let yx = 0
      for (let a = 0; a < k; a++) yx += (Y[yo + a] as number) * (x[a] as number)
      const f = c - (c - 1) * yx
      for (let a = 0; a < k; a++) r[a] = (r[a] as number) + f * (Y[yo + a] as number)
    }
    let rsold = 0
    for (let a = 0; a < k; a++) {
      p[a] = r[a] as number
      rsold += (r[a] as number) ** 2
    }
    for (let step = 0; step < cgSteps && rsold > 1e-20; step++) {
      for (let a = 0; a < k; a++) {
        let s = 0
        for (let b = 0; b < k; b++) s += (G[a * k + b] as number) * (p[b] as number)
        Ap[a] = s
      }
      for (let n = s0; n < e0; n++) {
        const yo = (R.indices[n] as number) * k
        const c = R.conf[n] as number
        let yp = 0
        for (let a = 0; a < k; a++) yp += (Y[yo + a] as number) * (p[a] as number)
        const f = (c - 1) * yp
        for (let a = 0; a < k; a++) Ap[a] = (Ap[a] as number) + f * (Y[yo + a] as number)
      }
      let pAp = 0
      for (let a = 0; a < k; a++) pAp += (p[a] as number) * (Ap[a] as number)
      if (pAp <= 0) break
      const step_ = rsold / pAp
      let rsnew = 0
      for (let a = 0; a < k; a++) {
        x[a] = (x[a] as number) + step_ * (p[a] as number)
        r[a] = (r[a] as number) - step_ * (Ap[a] as number)
        rsnew += (r[a] as number) ** 2
      }
      const beta = rsnew / rsold
      for (let a = 0; a < k; a++) p[a] = (r[a] as number) + beta * (p[a] as number)
      rsold = rsnew
    }
    for (let a = 0; a < k; a++) X[xo + a] = x[a] as number
  }
}

export function fitAls(data: Interactions, params: AlsParams): AlsFactors {
  const k = params.factors
  const rand = mulberry32(params.seed ?? 42)
  const init = (n: number) => Float32Array.from({ length: n * k }, () => (rand() - 0.5) * 0.02)
  const X = init(data.users)
  const Y = init(data.items)
  const byUser = toCsr(data.users, data.u, data.i, data.w, params.alpha)
  const byItem = toCsr(data.items, data.i, data.u, data.w, params.alpha)
  for (let it = 0; it < params.iterations; it++) {
    solve(X, Y, byUser, data.users, k, params.regularization, params.cgSteps, data.items)
    solve(Y, X, byItem, data.items, k, params.regularization, params.cgSteps, data.users)
  }
  return { factors: k, X, Y }
}
