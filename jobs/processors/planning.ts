// `planning` queue: the forecast recompute (every 6 h), the reorder-suggestion and planning-alert
// sweep (every 12 h), and one product's re-plan after its stock.low / stock.replan / stock.restocked
// event (within seconds; the forecast refitted first after a big sale). All
// recompute from current data, so duplicates and order of jobs don't matter.
import { type Job, UnrecoverableError } from 'bullmq'
import type { JobName, PlanningJobData } from '../../src/infra/queues'
import { isUuid } from '../../src/lib/uuid'
import { refreshAllForecasts } from '../../src/modules/planning/demand'
import { refreshSuggestions, replanProduct } from '../../src/modules/planning/replenish'

export async function processPlanning(job: Job<PlanningJobData, unknown, JobName<'planning'>>): Promise<unknown> {
  switch (job.name) {
    case 'refresh-forecasts':
      return refreshAllForecasts()
    case 'refresh-suggestions':
      return refreshSuggestions()
    case 'suggest-product': {
      const productId = 'productId' in job.data ? job.data.productId : undefined
      if (!isUuid(productId)) throw new UnrecoverableError('suggest-product needs a productId')
      // Stock crossed the reorder point or the big-sale level (or was restocked): re-plan now;
      // after a big sale the forecast is refitted first.
      return (await replanProduct(productId)).result
    }
    default:
      throw new UnrecoverableError(`planning: unknown job name ${job.name}`)
  }
}
