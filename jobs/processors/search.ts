// `search` queue: `build-index` learns the embeddings and writes a new index version
// (admin reindex, a missing/corrupt index seen by an API process, the nightly schedule).
import { type Job, UnrecoverableError } from 'bullmq'
import type { JobName, SearchJobData } from '../../src/infra/queues'
import { buildSearchIndex } from '../search/build'

export async function processSearch(job: Job<SearchJobData, unknown, JobName<'search'>>): Promise<unknown> {
  switch (job.name) {
    case 'build-index':
      return buildSearchIndex()
    default:
      throw new UnrecoverableError(`search: unknown job name ${job.name}`)
  }
}
