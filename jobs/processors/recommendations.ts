// `recommendations` queue: the hourly co-occurrence matrix rebuild. The recommendations module does
// not exist yet; when it exports rebuildCooccurrenceMatrix() from src/modules/recommendations/service.ts
// this processor calls it, until then it logs and completes.
import { type Job, UnrecoverableError } from 'bullmq'
import { logger } from '../../src/infra/logger'
import { optionalExport } from '../optional'
import type { EmptyJobData, JobName } from '../queues'

export async function processRecommendations(job: Job<EmptyJobData, unknown, JobName<'recommendations'>>): Promise<unknown> {
  switch (job.name) {
    case 'rebuild-matrix': {
      const rebuild = await optionalExport<() => Promise<unknown>>(
        `${import.meta.dir}/../../src/modules/recommendations/service.ts`,
        'rebuildCooccurrenceMatrix',
      )
      if (!rebuild) {
        logger.info('recommendations not built yet; matrix rebuild skipped')
        return { skipped: true }
      }
      return { result: await rebuild() }
    }
    default:
      throw new UnrecoverableError(`recommendations: unknown job name ${job.name}`)
  }
}
