// Embedding providers without servers: the SVD provider round-trips through its stored JSON, and
// the ONNX provider never downloads (a directory without a model is an error at load).
import { describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fitSvd } from '../jobs/search/svd-fit'
import { OnnxProvider, SvdProvider } from '../src/modules/search/embedder'

describe('SvdProvider', () => {
  test('stored JSON gives the same vectors; unknown words are reported', async () => {
    const texts = [
      'red couch sofa living room',
      'blue sofa cushions',
      'grey couch cushions seating',
      'kettle boil water kitchen',
      'steel kettle water',
    ]
    const p = await fitSvd(texts, new Date().toISOString(), 3)
    const q = SvdProvider.fromJSON(p.toJSON())
    const [a] = await p.embed(['couch'])
    const [b] = await q.embed(['couch'])
    expect([...(b as Float32Array)]).toEqual([...(a as Float32Array)])
    expect(p.knows('couch cushions')).toBe(true)
    expect(p.knows('couch zx1234')).toBe(false)
    // Co-occurrence: "couch" lands nearer a sofa text than a kettle text.
    const [sofa, kettle] = await p.embed(['blue sofa cushions', 'steel kettle water'])
    const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * (y[i] as number), 0)
    expect(dot(a as Float32Array, sofa as Float32Array)).toBeGreaterThan(dot(a as Float32Array, kettle as Float32Array))
  })
})

describe('OnnxProvider', () => {
  test('remote loading is off: a directory without the model files is an error, not a download', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stampede-onnx-'))
    try {
      writeFileSync(join(dir, 'config.json'), '{"model_type":"bert"}')
      await expect(OnnxProvider.load(dir)).rejects.toThrow(/not found locally|local_files_only|allowRemoteModels/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})
