// `payments` queue: the `charge` job runs one gateway attempt per try. Transient gateway failures
// throw so BullMQ retries with exponential backoff + jitter (attempts/backoff set by the producer
// from PAYMENT_MAX_ATTEMPTS / PAYMENT_RETRY_DELAY_MS); a decline, or the last failed try, settles
// the payment as failed in the database and ends the job with UnrecoverableError. The job is
// idempotent: settled payments are no-ops, and the gateway dedupes by the attempt's key.
import { type Job, UnrecoverableError } from 'bullmq'
import type { JobName, PaymentJobData } from '../../src/infra/queues'
import { runChargeAttempt } from '../../src/modules/orders/payment-flow'

export async function processPayments(job: Job<PaymentJobData, unknown, JobName<'payments'>>): Promise<unknown> {
  switch (job.name) {
    case 'charge': {
      const maxAttempts = job.opts.attempts ?? 1
      const r = await runChargeAttempt(job.data.attemptId, job.attemptsMade + 1, maxAttempts)
      if (r.outcome === 'retry') throw new Error(r.detail)
      if (r.outcome === 'failed') throw new UnrecoverableError(r.detail)
      return r
    }
    default:
      throw new UnrecoverableError(`payments: unknown job name ${job.name}`)
  }
}
