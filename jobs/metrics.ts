// Job metrics. Duration and failures are observed by the worker process that ran the job; queue
// depth is src/infra/queues.ts's gauge (any process that serves /metrics).
import { counter, histogram } from '../src/infra/metrics'

export const jobDuration = histogram(
  'bullmq_job_duration_seconds',
  'Job processing time by queue, job name and outcome',
  ['queue', 'name', 'status'],
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
)

export const jobFailures = counter(
  'bullmq_job_failures_total',
  'Failed job attempts by queue, job name and whether retries are exhausted',
  ['queue', 'name', 'final'],
)

export const outboxPublished = counter('outbox_events_published_total', 'Outbox events published to BullMQ by type', ['type'])
export const outboxRelayErrors = counter('outbox_relay_errors_total', 'Relay rounds that failed (Redis or Postgres down)')
