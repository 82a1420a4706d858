// TypeBox schemas of the search API (clicks, analytics, rules, reindex, audit).
import { t } from 'elysia'
import { SEARCH_RULE_ACTIONS } from '../../../db/schema/search'

const Uuid = t.String({ format: 'uuid' })
const Timestamp = t.String({ format: 'date-time' })

export const ClickBody = t.Object({
  searchId: Uuid,
  productId: Uuid,
  position: t.Integer({ minimum: 1, maximum: 1000, description: '1-based position of the product in the results' }),
})

export const Rule = t.Object({
  query: t.Nullable(
    t.String({ minLength: 1, maxLength: 200, description: 'the search it applies to (case-insensitive); null = every search' }),
  ),
  productId: Uuid,
  action: t.UnionEnum(SEARCH_RULE_ACTIONS, {
    description: 'pin: fixed position; boost / demote: ± weight on the ranking score (in [0, 1])',
  }),
  position: t.Optional(t.Integer({ minimum: 1, maximum: 100, description: 'pin only: 1-based position' })),
  weight: t.Optional(t.Number({ exclusiveMinimum: 0, maximum: 10, description: 'boost / demote only' })),
})
export type Rule = typeof Rule.static

export const RulesBody = t.Object({ rules: t.Array(Rule, { maxItems: 1000 }) })
export const RulesList = t.Object({ rules: t.Array(t.Intersect([Rule, t.Object({ id: Uuid, createdAt: Timestamp })])) })

export const ReindexAccepted = t.Object({
  jobId: t.String(),
  status: t.Literal('queued'),
  currentVersion: t.Nullable(t.Integer({ description: 'the version this process serves now' })),
})

export const AnalyticsQuery = t.Object({
  window: t.Optional(
    t.String({ pattern: '^[1-9][0-9]{0,3}[mhd]$', default: '24h', description: 'look-back: e.g. 30m, 24h, 7d (max 9999 units)' }),
  ),
  limit: t.Integer({ minimum: 1, maximum: 100, default: 20 }),
})

const QueryStat = t.Object({
  query: t.String(),
  searches: t.Integer(),
  clicks: t.Integer(),
  clickThroughRate: t.Number({ description: 'searches with ≥ 1 click / searches' }),
  meanClickedPosition: t.Nullable(t.Number()),
})

export const Analytics = t.Object({
  window: t.String(),
  from: Timestamp,
  to: Timestamp,
  searches: t.Integer(),
  topQueries: t.Array(QueryStat),
  zeroResultQueries: t.Array(t.Object({ query: t.String(), searches: t.Integer() })),
  latencyMs: t.Object({ p50: t.Nullable(t.Number()), p95: t.Nullable(t.Number()), p99: t.Nullable(t.Number()) }),
  degradedShare: t.Number({ description: 'share of searches served with a fallback (not the requested mode, or ranking fell back)' }),
  modes: t.Record(t.String(), t.Integer(), { description: 'searches per mode that served them' }),
})

export const AuditQuery = t.Object({
  actor: t.Optional(t.String({ format: 'uuid', description: 'the user the event is about (or who acted)' })),
  action: t.Optional(t.String({ maxLength: 64, description: 'event name, e.g. login_failure, role_change' })),
  from: t.Optional(Timestamp),
  to: t.Optional(Timestamp),
  limit: t.Integer({ minimum: 1, maximum: 100, default: 50 }),
  cursor: t.Optional(t.String({ maxLength: 200 })),
})

export const AuditPage = t.Object({
  items: t.Array(
    t.Object({
      id: Uuid,
      action: t.String(),
      actor: t.Nullable(Uuid),
      ip: t.Nullable(t.String()),
      requestId: t.Nullable(t.String()),
      details: t.Record(t.String(), t.Unknown()),
      createdAt: Timestamp,
    }),
  ),
  nextCursor: t.Nullable(t.String()),
})
