// `analytics` queue: fold one outbox event into the rollups (idempotent per event id and per order
// state) and announce it on the admin live feed; and the scheduled rebuild that repairs the
// rollups from the source tables and reports drift (analytics_rollup_drift).
import { type Job, UnrecoverableError } from 'bullmq'
import { config } from '../../src/config'
import { logger } from '../../src/infra/logger'
import type { AnalyticsJobData, JobName } from '../../src/infra/queues'
import { isUuid } from '../../src/lib/uuid'
import { invalidateAnalytics, invalidateAnalyticsNow } from '../../src/modules/analytics/cache'
import { applyOrderEvent, markEventApplied, purgeAppliedEvents, rebuildRollups } from '../../src/modules/analytics/rollup'
import { type LiveType, publishLive } from '../../src/modules/live/bus'

/** Outbox event type → live feed type. stock.changed comes from inventory's onStockChange
 *  announcements instead (src/modules/live/stock.ts): every change, not only restocks. */
const LIVE_OF: Record<string, LiveType | undefined> = {
  'order.created': 'order.created',
  'order.paid': 'order.paid',
  'order.cancelled': 'order.cancelled',
  'stock.low': 'stock.low',
}

export async function processAnalytics(job: Job<AnalyticsJobData, unknown, JobName<'analytics'>>): Promise<unknown> {
  switch (job.name) {
    case 'apply-event': {
      const d = job.data
      if (!('eventId' in d) || !isUuid(d.eventId) || !isUuid(d.aggregateId))
        throw new UnrecoverableError('apply-event needs eventId and aggregateId')
      const result = d.type.startsWith('order.') ? await applyOrderEvent(d.eventId, d.aggregateId) : await markEventApplied(d.eventId)
      if (result === 'duplicate') return result
      if (result === 'applied') void invalidateAnalytics()
      const live = LIVE_OF[d.type]
      if (live) await publishLive(live, { id: d.aggregateId, ...d.payload })
      return result
    }
    case 'rebuild-rollups': {
      const r = await rebuildRollups()
      await purgeAppliedEvents(config.OUTBOX_RETENTION_DAYS + 1)
      if (r.drift > 0) logger.warn(r, 'analytics rollups drifted from the source tables; repaired')
      await invalidateAnalyticsNow()
      return r
    }
    default:
      throw new UnrecoverableError(`analytics: unknown job name ${job.name}`)
  }
}
