// Training parameters: ml_model_config rows (seeded by migration 0013 with these same defaults),
// merged over the defaults so a partial row still trains.
import type { MlModelName } from '../../db/schema'
import type { BlendParams } from './blend'
import type { AlsTrainParams, ContentParams, SegmentParams } from './pipeline'

export type ParamsOf = {
  als: AlsTrainParams
  content: ContentParams
  segment: SegmentParams & { bestSellers: number }
  blend: BlendParams
}

export const DEFAULT_PARAMS: ParamsOf = {
  als: {
    factors: 32,
    iterations: 12,
    regularization: 0.05,
    alpha: 20,
    cgSteps: 3,
    weights: { purchase: 1, pending: 0.4, add_to_cart: 0.3, click: 0.15 },
  },
  content: { neighbours: 30, maxDfRatio: 0.1, nameWeight: 3, categoryWeight: 2 },
  segment: { kMin: 2, kMax: 8, silhouetteSample: 2000, bestSellers: 100 },
  blend: { candidates: 50, negativesPerPositive: 8, numSteps: 300, learningRate: 1, maxUsers: 2000 },
}

export type ModelConfig<N extends MlModelName> = { params: ParamsOf[N]; windowDays: number }

// biome-ignore lint/suspicious/noExplicitAny: postgres.js Sql of any database
export async function modelConfig<N extends MlModelName>(db: any, name: N): Promise<ModelConfig<N>> {
  const [row] = await db`select params, window_days from ml_model_config where name = ${name}`
  return { params: { ...DEFAULT_PARAMS[name], ...(row?.params ?? {}) }, windowDays: row?.window_days ?? 365 }
}
