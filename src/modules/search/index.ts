// Search HTTP controller: result clicks, and the admin side — reindex, ranking rules, analytics,
// the audit log. The search itself is GET /products (catalog route; this module registers the
// handler below, since the catalog cannot import search).
import { Elysia, t } from 'elysia'
import { registerDegradedCheck } from '../../infra/readiness'
import { UnavailableError } from '../../lib/errors'
import { problems } from '../../lib/problem-schema'
import { authPlugin } from '../../plugins/auth'
import { setSearchHandler } from '../catalog/search'
import { listAudit, recordClick, searchAnalytics } from './analytics'
import { indexDegradedReason, indexState, requestRebuild } from './index-state'
import { Analytics, AnalyticsQuery, AuditPage, AuditQuery, ClickBody, ReindexAccepted, RulesBody, RulesList } from './model'
import { listRules, replaceRules } from './rules'
import { searchProducts } from './service'

setSearchHandler(searchProducts)
registerDegradedCheck('search', indexDegradedReason)

const tags = ['search']

export const searchModule = new Elysia({ name: 'search' })
  .use(authPlugin)
  .post(
    '/search/clicks',
    async ({ body, set }) => {
      await recordClick(body)
      set.status = 204
    },
    {
      body: ClickBody,
      response: { 204: t.Void(), ...problems(422) },
      detail: { tags, summary: 'Record a click on a search result (searchId from GET /products?q=)' },
    },
  )
  .post(
    '/admin/search/reindex',
    async ({ set }) => {
      if (!(await requestRebuild('admin reindex'))) throw new UnavailableError('the job queue (Redis) is unavailable', 'jobs_unavailable')
      set.status = 202
      return { jobId: 'search-build-index', status: 'queued' as const, currentVersion: indexState().index?.version ?? null }
    },
    {
      auth: 'admin',
      response: { 202: ReindexAccepted, ...problems(401, 403, 503) },
      detail: {
        tags,
        summary: 'Relearn the embeddings and rebuild the vector index (a job)',
        description: 'API processes load the new version on their next refresh. One build at a time: a request while one waits joins it.',
      },
    },
  )
  .get('/admin/search/rules', async () => ({ rules: await listRules() }), {
    auth: 'admin',
    response: { 200: RulesList, ...problems(401, 403) },
    detail: { tags, summary: 'Ranking rules (pins, boosts, demotions)' },
  })
  .put('/admin/search/rules', async ({ body }) => ({ rules: await replaceRules(body.rules) }), {
    auth: 'admin',
    body: RulesBody,
    response: { 200: RulesList, ...problems(401, 403, 422) },
    detail: { tags, summary: 'Replace every ranking rule (one transaction)' },
  })
  .get('/admin/search/analytics', ({ query }) => searchAnalytics(query.window ?? '24h', query.limit), {
    auth: 'admin',
    query: AnalyticsQuery,
    response: { 200: Analytics, ...problems(401, 403, 422) },
    detail: { tags, summary: 'Top and zero-result queries, click-through, latency percentiles, share served degraded' },
  })
  .get('/admin/audit', ({ query }) => listAudit(query), {
    auth: 'admin',
    query: AuditQuery,
    response: { 200: AuditPage, ...problems(401, 403, 422) },
    detail: { tags: ['admin'], summary: 'The audit log, newest first (filter by actor, action, time)' },
  })
