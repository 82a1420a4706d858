// `ml-training` queue: one requested training run (`train-model`, from the ml.train_requested
// outbox event; the run row makes it idempotent) or the scheduled retraining of every model
// (`train-all`: content and segments first, ALS, then the blend that ranks their candidates).
import { type Job, UnrecoverableError } from 'bullmq'
import { ML_MODEL_NAMES, type MlModelName } from '../../db/schema'
import type { JobName, MlTrainingJobData } from '../../src/infra/queues'
import { requestTrainingRun } from '../ml/runs'
import { runTraining } from '../ml/train'

const ORDER: MlModelName[] = ['content', 'segment', 'als', 'blend']

export async function processMlTraining(job: Job<MlTrainingJobData, unknown, JobName<'ml-training'>>): Promise<unknown> {
  switch (job.name) {
    case 'train-model': {
      const d = job.data as { runId?: string; name?: string }
      if (!d.runId || !d.name || !(ML_MODEL_NAMES as readonly string[]).includes(d.name))
        throw new UnrecoverableError('train-model needs a runId and a model name')
      return runTraining(d.runId, d.name as MlModelName)
    }
    case 'train-all': {
      const out = []
      for (const name of ORDER) out.push(await runTraining(await requestTrainingRun(name, 'schedule'), name))
      return out
    }
    default:
      throw new UnrecoverableError(`ml-training: unknown job name ${job.name}`)
  }
}
