// `order-emails` queue: one job per email an order owes (received at checkout, confirmed with the
// receipt after payment, payment failed, cancelled, refunded), published by the outbox relay.
// Idempotent by mail_log's UNIQUE (order_id, kind); see src/modules/mail/service.ts for the SMTP
// reasoning.
import { type Job, UnrecoverableError } from 'bullmq'
import type { OrderMailKind } from '../../db/schema'
import { EMAIL_JOB_OF_KIND, type JobName, type OrderEmailJobData } from '../../src/infra/queues'
import { isUuid } from '../../src/lib/uuid'
import { sendOrderEmail } from '../../src/modules/mail/service'

const KIND_OF_JOB = new Map(Object.entries(EMAIL_JOB_OF_KIND).map(([kind, name]) => [name as string, kind as OrderMailKind]))

export async function processOrderEmails(job: Job<OrderEmailJobData, unknown, JobName<'order-emails'>>): Promise<unknown> {
  const { orderId, payload, eventId } = job.data
  if (!isUuid(orderId)) throw new UnrecoverableError('order-emails: orderId missing or not a uuid')
  // The job name decides the kind (the data's `kind` is informative): one name, one email.
  const kind = KIND_OF_JOB.get(job.name)
  if (!kind) throw new UnrecoverableError(`order-emails: unknown job name ${job.name}`)
  return sendOrderEmail({ orderId, kind, payload, eventId })
}
