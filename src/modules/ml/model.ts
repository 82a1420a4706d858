// TypeBox schemas of the ML admin routes.
import { t } from 'elysia'
import { ML_MODEL_NAMES } from '../../../db/schema'

const Uuid = t.String({ format: 'uuid' })
const Time = t.String({ format: 'date-time' })
const NullableTime = t.Nullable(Time)

export const MlModel = {
  nameParams: t.Object({ name: t.UnionEnum(ML_MODEL_NAMES, { description: 'als | content | segment | blend' }) }),
  activateBody: t.Object({
    version: t.Integer({ minimum: 1, maximum: 2147483647, description: 'a stored version of this model (rollback = an older one)' }),
  }),
}

export const ModelVersion = t.Object({
  name: t.String(),
  version: t.Integer(),
  status: t.UnionEnum(['active', 'inactive', 'failed']),
  params: t.Record(t.String(), t.Unknown()),
  metrics: t.Record(t.String(), t.Unknown()),
  trainedAt: Time,
  trainingMs: t.Integer(),
  windowFrom: NullableTime,
  windowTo: NullableTime,
  checksum: t.String({ description: 'sha256 of the artefact' }),
  sizeBytes: t.Integer(),
  activatedAt: NullableTime,
})

export const TrainingRun = t.Object({
  id: Uuid,
  name: t.String(),
  status: t.UnionEnum(['queued', 'running', 'succeeded', 'failed']),
  trigger: t.String(),
  version: t.Nullable(t.Integer()),
  error: t.Nullable(t.String()),
  createdAt: Time,
  startedAt: NullableTime,
  finishedAt: NullableTime,
})

export const ModelsResponse = t.Object({
  items: t.Array(ModelVersion),
  runs: t.Array(TrainingRun, { description: 'the 20 most recent trainings' }),
})

export const SegmentsResponse = t.Object({
  version: t.Nullable(t.Integer({ description: 'active segment model version; null before the first training' })),
  k: t.Integer(),
  silhouette: t.Nullable(t.Number({ description: 'mean silhouette of the chosen k' })),
  segments: t.Array(
    t.Object({
      segment: t.Integer(),
      size: t.Integer({ description: 'customers in the segment' }),
      label: t.String({ examples: ['recent frequent high-spend'] }),
      description: t.String({ description: 'the centroid in words' }),
      centroid: t.Object({ recencyDays: t.Number(), orders: t.Number(), monetaryCents: t.Integer() }),
    }),
  ),
})
