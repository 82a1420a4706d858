// Liveness, readiness and Prometheus metrics.
import { Elysia, t } from 'elysia'
import { config } from '../../config'
import { poolUsage, postgresStatus } from '../../infra/db'
import { gauge, registry } from '../../infra/metrics'
import { degradedReasons } from '../../infra/readiness'
import { pingRedis } from '../../infra/redis'

gauge('db_pool_connections', 'Open connections of this process by state (pg_stat_activity)', ['state'], async function () {
  this.reset()
  this.set({ state: 'max' }, config.DATABASE_POOL_MAX)
  for (const { state, n } of await poolUsage().catch(() => [])) this.set({ state }, n)
})

const Dependency = t.Union([t.Literal('ok'), t.Literal('saturated'), t.Literal('down'), t.Literal('disabled')])

export const systemModule = new Elysia({ name: 'system', tags: ['system'] })
  .get('/health', () => ({ status: 'ok' as const }), {
    detail: { summary: 'Liveness (no I/O)', tags: ['system'] },
    response: { 200: t.Object({ status: t.Literal('ok') }) },
  })
  .get(
    '/ready',
    async ({ set }) => {
      const [postgres, redis] = await Promise.all([postgresStatus(), pingRedis()])
      // Redis is an accelerator: without it the API still serves, degraded. A saturated pool
      // (Postgres answers, no pooled connection comes free) answers 503 database_busy: not ready.
      const extra = degradedReasons()
      const degraded = redis !== 'ok' || extra.length > 0
      const ready = postgres === 'ok'
      set.status = ready ? 200 : 503
      return {
        status: ready
          ? degraded
            ? ('degraded' as const)
            : ('ready' as const)
          : postgres === 'saturated'
            ? 'saturated'
            : ('unavailable' as const),
        checks: { postgres, redis },
        degraded: [...(redis !== 'ok' ? ['cache bypassed', 'rate limits in-process', 'background jobs off'] : []), ...extra],
      }
    },
    {
      detail: {
        summary: 'Readiness: checks Postgres and Redis',
        description:
          'status: ready | degraded (Redis down, or a feature serving a fallback: `degraded` says which and why) | saturated (Postgres up, connection pool exhausted) | unavailable',
        tags: ['system'],
      },
      response: {
        200: t.Object({ status: t.String(), checks: t.Object({ postgres: Dependency, redis: Dependency }), degraded: t.Array(t.String()) }),
        503: t.Object({ status: t.String(), checks: t.Object({ postgres: Dependency, redis: Dependency }), degraded: t.Array(t.String()) }),
      },
    },
  )
  .get(
    '/metrics',
    async ({ set }) => {
      set.headers['content-type'] = registry.contentType
      return registry.metrics()
    },
    { detail: { summary: 'Prometheus metrics', tags: ['system'] } },
  )
