// ML admin services: request a training (a training-run row + an outbox event in ONE transaction,
// so a 202 always has a job behind it, even if Redis is down at that moment), list the registry,
// and describe the active segment model.
import type { MlModelName } from '../../../db/schema'
import { sql } from '../../infra/db'
import { eventInsert } from '../../lib/outbox'
import type { Artefact, SegmentDescription } from './artefacts'
import { prepare, type SegmentModel } from './prepared'
import { activeModel } from './registry'

export type TrainingRun = {
  id: string
  name: string
  status: 'queued' | 'running' | 'succeeded' | 'failed'
  trigger: string
  version: number | null
  error: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
}

export async function requestTraining(name: MlModelName, trigger: 'api' | 'schedule', requestedBy: string | null): Promise<TrainingRun> {
  const id = Bun.randomUUIDv7()
  return sql.begin(async (tx) => {
    const [run] = await tx<TrainingRun[]>`
      insert into ml_training_runs (id, name, trigger, requested_by) values (${id}, ${name}, ${trigger}, ${requestedBy})
      returning id, name, status, trigger, version, error, created_at as "createdAt", started_at as "startedAt", finished_at as "finishedAt"`
    await eventInsert(tx, 'ml.train_requested', id, { name }).insert
    return run as TrainingRun
  })
}

export async function recentRuns(limit = 20): Promise<TrainingRun[]> {
  return sql<TrainingRun[]>`
    select id, name, status, trigger, version, error, created_at as "createdAt", started_at as "startedAt", finished_at as "finishedAt"
    from ml_training_runs order by created_at desc limit ${limit}`
}

export async function describeSegments(): Promise<{
  version: number | null
  k: number
  silhouette: number | null
  segments: SegmentDescription[]
}> {
  const m = await activeModel('segment', prepare as (a: Artefact) => SegmentModel)
  if (!m) return { version: null, k: 0, silhouette: null, segments: [] }
  return { version: m.version, k: m.model.k, silhouette: m.model.silhouette, segments: m.model.segments }
}
