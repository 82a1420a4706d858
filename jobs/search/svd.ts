// Truncated SVD of a sparse TF-IDF matrix by randomized range finding (Halko, Martinsson & Tropp
// 2011, alg. 4.4 with q power iterations): A (n × V) ≈ U Σ Vᵀ, keeping k dimensions. Training code:
// runs in the `search` job and the eval script, never in the API process.
//
// Why hand-written: the npm linear-algebra packages (ml-matrix, used below for the l × l eigen
// step) are dense; a dense 100k × 20k TF-IDF matrix is 16 GB. The sparse products here are the
// only O(nnz) steps and are plain loops over CSR arrays.
import { EigenvalueDecomposition, Matrix } from 'ml-matrix'
import type { SparseVector } from '../../src/lib/text/sparse'

/** CSR view of the rows (each row's indices sorted, as SparseVector guarantees). */
type Csr = { n: number; cols: number; ptr: Uint32Array; idx: Uint32Array; val: Float64Array }

function toCsr(rows: readonly SparseVector[], cols: number): Csr {
  const ptr = new Uint32Array(rows.length + 1)
  rows.forEach((r, i) => {
    ptr[i + 1] = (ptr[i] as number) + r.indices.length
  })
  const nnz = ptr[rows.length] as number
  const idx = new Uint32Array(nnz)
  const val = new Float64Array(nnz)
  rows.forEach((r, i) => {
    idx.set(r.indices, ptr[i] as number)
    val.set(r.values, ptr[i] as number)
  })
  return { n: rows.length, cols, ptr, idx, val }
}

/** Y (n × l) = A · X (cols × l), row-major. */
function mul(a: Csr, x: Float64Array, l: number): Float64Array {
  const y = new Float64Array(a.n * l)
  for (let i = 0; i < a.n; i++) {
    const yo = i * l
    for (let p = a.ptr[i] as number; p < (a.ptr[i + 1] as number); p++) {
      const v = a.val[p] as number
      const xo = (a.idx[p] as number) * l
      for (let j = 0; j < l; j++) y[yo + j] = (y[yo + j] as number) + v * (x[xo + j] as number)
    }
  }
  return y
}

/** Z (cols × l) = Aᵀ · Y (n × l), row-major. */
function mulT(a: Csr, y: Float64Array, l: number): Float64Array {
  const z = new Float64Array(a.cols * l)
  for (let i = 0; i < a.n; i++) {
    const yo = i * l
    for (let p = a.ptr[i] as number; p < (a.ptr[i + 1] as number); p++) {
      const v = a.val[p] as number
      const zo = (a.idx[p] as number) * l
      for (let j = 0; j < l; j++) z[zo + j] = (z[zo + j] as number) + v * (y[yo + j] as number)
    }
  }
  return z
}

/**
 * Orthonormalises the l columns of a row-major m × l matrix in place (modified Gram–Schmidt, twice
 * for stability). A column that is (numerically) in the span of the earlier ones becomes zero:
 * small catalogs have rank < l.
 */
function orthonormalize(q: Float64Array, m: number, l: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < l; j++) {
      for (let k = 0; k < j; k++) {
        let d = 0
        for (let i = 0; i < m; i++) d += (q[i * l + j] as number) * (q[i * l + k] as number)
        if (d !== 0) for (let i = 0; i < m; i++) q[i * l + j] = (q[i * l + j] as number) - d * (q[i * l + k] as number)
      }
      let s = 0
      for (let i = 0; i < m; i++) s += (q[i * l + j] as number) ** 2
      const norm = Math.sqrt(s)
      const inv = norm > 1e-10 ? 1 / norm : 0
      for (let i = 0; i < m; i++) q[i * l + j] = (q[i * l + j] as number) * inv
    }
  }
}

/** mulberry32 + Box–Muller: the same seed gives the same model. */
function gaussian(seed: number): () => number {
  let a = seed >>> 0
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return () => Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u())
}

export type SvdOptions = { dims: number; oversample?: number; powerIterations?: number; seed?: number }

/**
 * The right singular vectors V_k (cols × k, row-major float32) of the rows, and the singular
 * values. An embedding is then x · V_k for any TF-IDF row x (documents and queries alike).
 */
export function truncatedSvd(
  rows: readonly SparseVector[],
  cols: number,
  o: SvdOptions,
): { projection: Float32Array; dims: number; sigma: number[] } {
  const a = toCsr(rows, cols)
  const l = Math.max(1, Math.min(o.dims + (o.oversample ?? 10), a.n, cols))
  const k = Math.min(o.dims, l)
  const g = gaussian(o.seed ?? 42)
  const omega = new Float64Array(cols * l)
  for (let i = 0; i < omega.length; i++) omega[i] = g()
  let y = mul(a, omega, l)
  orthonormalize(y, a.n, l)
  for (let it = 0; it < (o.powerIterations ?? 2); it++) {
    const z = mulT(a, y, l)
    orthonormalize(z, cols, l)
    y = mul(a, z, l)
    orthonormalize(y, a.n, l)
  }
  // B = Qᵀ A, held as Z = Bᵀ = Aᵀ Q (cols × l). B Bᵀ = Zᵀ Z = W Λ Wᵀ; V_k = Z W_k Λ_k^(-1/2).
  const z = mulT(a, y, l)
  const gram = new Matrix(l, l)
  for (let r = 0; r < l; r++) {
    for (let c = r; c < l; c++) {
      let s = 0
      for (let i = 0; i < cols; i++) s += (z[i * l + r] as number) * (z[i * l + c] as number)
      gram.set(r, c, s)
      gram.set(c, r, s)
    }
  }
  const eig = new EigenvalueDecomposition(gram, { assumeSymmetric: true })
  const lambda = eig.realEigenvalues
  const w = eig.eigenvectorMatrix
  const order = lambda.map((v, i) => [v, i] as const).sort((p, q) => q[0] - p[0])
  const projection = new Float32Array(cols * k)
  const sigma: number[] = []
  for (let d = 0; d < k; d++) {
    const [lam, col] = order[d] as readonly [number, number]
    const s = Math.sqrt(Math.max(lam, 0))
    sigma.push(s)
    if (s < 1e-9) continue
    for (let i = 0; i < cols; i++) {
      let acc = 0
      for (let r = 0; r < l; r++) acc += (z[i * l + r] as number) * w.get(r, col)
      projection[i * k + d] = acc / s
    }
  }
  return { projection, dims: k, sigma }
}
