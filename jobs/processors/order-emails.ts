// `order-emails` queue: confirmation (order.created) and receipt (order.paid) emails. Idempotent by
// mail_log's UNIQUE (order_id, kind); see src/modules/mail/service.ts for the SMTP reasoning.
import { type Job, UnrecoverableError } from 'bullmq'
import { isUuid } from '../../src/lib/uuid'
import { sendOrderEmail } from '../../src/modules/mail/service'
import type { JobName, OrderEmailJobData } from '../queues'

export async function processOrderEmails(job: Job<OrderEmailJobData, unknown, JobName<'order-emails'>>): Promise<unknown> {
  const { orderId, payload, eventId } = job.data
  if (!isUuid(orderId)) throw new UnrecoverableError('order-emails: orderId missing or not a uuid')
  switch (job.name) {
    case 'send-confirmation':
      return sendOrderEmail({ orderId, kind: 'order_confirmation', payload, eventId })
    case 'send-receipt':
      return sendOrderEmail({ orderId, kind: 'payment_receipt', payload, eventId })
    default:
      throw new UnrecoverableError(`order-emails: unknown job name ${job.name}`)
  }
}
