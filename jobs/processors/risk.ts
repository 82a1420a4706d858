// `risk` queue: re-score an order after one payment outcome (order.paid / order.payment_failed
// outbox events). Idempotent: the outcome is recorded once per payment id, the score only rises.
import { type Job, UnrecoverableError } from 'bullmq'
import type { JobName, RiskJobData } from '../../src/infra/queues'
import { holdOrder } from '../../src/modules/orders/risk-actions'
import { paymentFacts } from '../../src/modules/payments/facts'
import { rescoreOnPayment } from '../../src/modules/risk/service'

export async function processRisk(job: Job<RiskJobData, unknown, JobName<'risk'>>): Promise<unknown> {
  switch (job.name) {
    case 'rescore-order': {
      const { orderId, paymentId, outcome } = job.data
      if (!orderId || !paymentId || (outcome !== 'failed' && outcome !== 'succeeded'))
        throw new UnrecoverableError('rescore-order needs orderId, paymentId and outcome')
      const p = await paymentFacts(paymentId)
      if (!p) return { skipped: 'payment not found' }
      return rescoreOnPayment({ paymentId, orderId, method: p.method, outcome, at: p.updatedAt }, holdOrder)
    }
    default:
      throw new UnrecoverableError(`risk: unknown job name ${job.name}`)
  }
}
