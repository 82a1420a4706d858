// ML admin routes: the model registry (list, train → 202 + a job, activate = rollback) and the
// customer segments of the active segment model.
import { Elysia } from 'elysia'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { MlModel, ModelsResponse, ModelVersion, SegmentsResponse, TrainingRun } from './model'
import { activate, listModels } from './registry'
import { describeSegments, recentRuns, requestTraining } from './service'

const iso = (x: unknown) => (x === null || x === undefined ? null : new Date(x as string).toISOString())
const rowOut = <T extends Record<string, unknown>>(r: T, keys: string[]) => {
  const o: Record<string, unknown> = { ...r }
  for (const k of keys) o[k] = iso(r[k])
  return o as T
}

export const mlModule = new Elysia({ name: 'ml', tags: ['ml'] })
  .use(authPlugin)
  .get(
    '/admin/ml/models',
    async () => ({
      items: (await listModels()).map((m) => rowOut(m, ['trainedAt', 'windowFrom', 'windowTo', 'activatedAt'])),
      runs: (await recentRuns()).map((r) => rowOut(r, ['createdAt', 'startedAt', 'finishedAt'])),
    }),
    {
      auth: 'admin',
      response: { 200: ModelsResponse, ...problems(401, 403, 429, 500) },
      detail: {
        tags: ['ml'],
        summary: 'Model registry',
        description: 'Every stored version of every model (newest first per name) and the recent trainings.',
      },
    },
  )
  .post(
    '/admin/ml/models/:name/train',
    async ({ params, user, set }) => {
      set.status = 202
      return rowOut(await requestTraining(params.name, 'api', user.id), ['createdAt', 'startedAt', 'finishedAt'])
    },
    {
      auth: 'admin',
      params: MlModel.nameParams,
      response: { 202: TrainingRun, ...problems(401, 403, 422, 429, 500) },
      detail: {
        tags: ['ml'],
        summary: 'Train a model',
        description:
          'Queues a training (a job on the ml-training queue, published through the outbox) and answers 202 with the training run; the new version becomes active when it succeeds.',
      },
    },
  )
  .post(
    '/admin/ml/models/:name/activate',
    async ({ params, body }) => rowOut(await activate(params.name, body.version), ['trainedAt', 'windowFrom', 'windowTo', 'activatedAt']),
    {
      auth: 'admin',
      params: MlModel.nameParams,
      body: MlModel.activateBody,
      response: { 200: ModelVersion, ...problems(400, 401, 403, 404, 409, 422, 429, 500) },
      detail: {
        tags: ['ml'],
        summary: 'Activate a version (rollback)',
        description:
          'Makes the version the active one; every API process swaps to it (announced over Redis, re-checked every ML_MODEL_CHECK_MS). Unknown version → 404; a version that failed to load → 409.',
      },
    },
  )
  .get('/admin/customers/segments', async () => describeSegments(), {
    auth: 'admin',
    response: { 200: SegmentsResponse, ...problems(401, 403, 429, 500) },
    detail: {
      tags: ['ml'],
      summary: 'Customer segments',
      description: 'Segments of the active K-Means model on RFM features (k chosen by silhouette): size and the centroid in words.',
    },
  })
