// `stock-alerts` queue: re-evaluate one product after stock.low / stock.restocked, or all products
// on the daily schedule. Both re-read current stock, so order and duplicates of events don't matter.
import { type Job, UnrecoverableError } from 'bullmq'
import type { JobName, StockAlertJobData } from '../../src/infra/queues'
import { isUuid } from '../../src/lib/uuid'
import { checkAllStock, checkProductStock } from '../../src/modules/alerts/service'
import { publishLive } from '../../src/modules/live/bus'

export async function processStockAlerts(job: Job<StockAlertJobData, unknown, JobName<'stock-alerts'>>): Promise<unknown> {
  switch (job.name) {
    case 'check-product': {
      const { productId } = job.data
      if (!isUuid(productId)) throw new UnrecoverableError('stock-alerts: productId missing or not a uuid')
      const r = await checkProductStock(productId, job.data.reason ?? 'event')
      if (r.opened) await publishLive('alert.created', { productId, reason: job.data.reason ?? 'event' })
      return r
    }
    case 'check-all':
      return checkAllStock()
    default:
      throw new UnrecoverableError(`stock-alerts: unknown job name ${job.name}`)
  }
}
