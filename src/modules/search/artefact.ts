// A stored index version as bytes: the provider's model (gzip'd JSON), the product ids (16 bytes
// each), the vectors (float32 rows) and optionally a serialised ANN graph, all covered by one
// sha256. The job writes it (jobs/search/build.ts); the API reads and verifies it before use.
import type { OnnxModelJSON, SvdModelJSON } from './embedder'

export type Artefact = {
  provider: 'svd' | 'onnx'
  dims: number
  model: Buffer
  ids: Buffer
  vectors: Buffer
  ann: Buffer | null
}

export function checksum(a: Pick<Artefact, 'model' | 'ids' | 'vectors' | 'ann'>): string {
  const h = new Bun.CryptoHasher('sha256')
  h.update(a.model)
  h.update(a.ids)
  h.update(a.vectors)
  if (a.ann) h.update(a.ann)
  return h.digest('hex')
}

export function encodeModel(j: SvdModelJSON | OnnxModelJSON): Buffer {
  return Buffer.from(Bun.gzipSync(Buffer.from(JSON.stringify(j))))
}

export function decodeModel(b: Buffer): SvdModelJSON | OnnxModelJSON {
  return JSON.parse(Buffer.from(Bun.gunzipSync(new Uint8Array(b))).toString('utf8')) as SvdModelJSON | OnnxModelJSON
}

export function encodeIds(ids: readonly string[]): Buffer {
  const out = Buffer.alloc(ids.length * 16)
  ids.forEach((id, i) => {
    out.write(id.replaceAll('-', ''), i * 16, 16, 'hex')
  })
  return out
}

export function decodeIds(b: Buffer): string[] {
  const hex = b.toString('hex')
  const out: string[] = new Array(b.length / 16)
  for (let i = 0; i < out.length; i++) {
    const h = hex.slice(i * 32, i * 32 + 32)
    out[i] = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
  }
  return out
}

export const floatsToBuffer = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength)

/** A copy (the Buffer may be a slice of a shared pool, unaligned for a Float32Array view). */
export function bufferToFloats(b: Buffer): Float32Array {
  const copy = new Uint8Array(b.byteLength)
  copy.set(b)
  return new Float32Array(copy.buffer)
}
