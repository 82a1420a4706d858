// `recommendations` queue: the hourly full rebuild of the co-occurrence model, and the incremental
// update of one paid order (from the order.paid outbox event; idempotent per order).
import { type Job, UnrecoverableError } from 'bullmq'
import type { JobName, RecommendationJobData } from '../../src/infra/queues'
import { attributePurchases } from '../../src/modules/recommendations/events'
import { onOrderPaid, rebuildRecommendations } from '../../src/modules/recommendations/service'

export async function processRecommendations(job: Job<RecommendationJobData, unknown, JobName<'recommendations'>>): Promise<unknown> {
  switch (job.name) {
    case 'rebuild-matrix':
      return rebuildRecommendations()
    case 'apply-order': {
      const orderId = 'orderId' in job.data ? job.data.orderId : undefined
      if (!orderId) throw new UnrecoverableError('apply-order needs an orderId')
      const applied = await onOrderPaid(orderId)
      // Purchases of products shown in the buyer's recent lists count for those lists (idempotent).
      return { ...applied, attributed: await attributePurchases(orderId) }
    }
    default:
      throw new UnrecoverableError(`recommendations: unknown job name ${job.name}`)
  }
}
