// One Strategy interface, one factory. Each strategy turns a user context into scored product ids;
// the model strategies read the registry's active version (loaded once per process) and answer
// null when no version is usable, so the caller falls back to co-occurrence instead of failing.
import { COMPLETED_ORDER_STATUSES } from '../../../db/schema'
import { sql } from '../../infra/db'
import type { Artefact } from '../ml/artefacts'
import { activeModel } from '../ml/registry'
import { aggregateNeighbours } from './cooccurrence'
import { BASE_STRATEGIES, type BaseStrategy, type Scored } from './features'
import type { STRATEGY_NAMES } from './model'
import { bestSellersByCounter } from './products'
import {
  type AlsModel,
  alsScores,
  type BlendModel,
  blendScores,
  type ContentModel,
  contentScores,
  listScores,
  prepare,
  type SegmentModel,
  segmentScores,
} from './scorers'
import { readNeighbours, readPopularity } from './store'

export type StrategyName = (typeof STRATEGY_NAMES)[number]
export type ConcreteStrategy = Exclude<StrategyName, 'auto'>

export type UserContext = {
  userId: string
  /** distinct products of completed orders, most recent first */
  history: { id: string; at: number }[]
  /** everything bought OR in an active (pending, unpaid) order: never recommended back */
  owned: Set<string>
  now: number
}

export interface Strategy {
  readonly name: ConcreteStrategy
  /** Best first, owned products excluded; null = this strategy has no usable model right now. */
  recommend(ctx: UserContext, n: number): Promise<Scored[] | null>
}

/** Orders whose products the user has: completed ones, and pending (unpaid) ones — found by a
 *  black-box check: an item waiting in an unpaid order was being recommended back. */
const ACTIVE_OR_DONE = [...COMPLETED_ORDER_STATUSES, 'pending_payment'] as const

export async function loadUserContext(userId: string): Promise<UserContext> {
  const rows = await sql<{ product_id: string; at: Date | string; done: boolean }[]>`
    select oi.product_id, max(o.created_at) as at, bool_or(o.status in ${sql(COMPLETED_ORDER_STATUSES)}) as done
    from orders o join order_items oi on oi.order_id = o.id
    where o.user_id = ${userId} and o.status in ${sql(ACTIVE_OR_DONE)}
    group by oi.product_id order by max(o.created_at) desc, oi.product_id`
  return {
    userId,
    history: rows.filter((r) => r.done).map((r) => ({ id: r.product_id, at: new Date(r.at).getTime() })),
    owned: new Set(rows.map((r) => r.product_id)),
    now: Date.now(),
  }
}

const model = <T>(name: 'als' | 'content' | 'segment' | 'blend') => activeModel(name, prepare as unknown as (a: Artefact) => T)

async function popularIds(n: number): Promise<string[]> {
  const p = await readPopularity(n)
  return p.length ? p : bestSellersByCounter(n)
}

const strategies: Record<ConcreteStrategy, Strategy> = {
  popular: {
    name: 'popular',
    recommend: async (ctx, n) => listScores(await popularIds(n + ctx.owned.size), ctx.owned, n),
  },
  cooccurrence: {
    name: 'cooccurrence',
    recommend: async (ctx, n) => {
      const recent = ctx.history.slice(0, 50).map((h) => h.id)
      const lists = await readNeighbours(recent)
      return aggregateNeighbours(recent, (id) => lists.get(id), n, ctx.owned)
    },
  },
  als: {
    name: 'als',
    recommend: async (ctx, n) => {
      const m = await model<AlsModel>('als')
      return m ? alsScores(m.model, ctx.userId, ctx.owned, n) : null
    },
  },
  content: {
    name: 'content',
    recommend: async (ctx, n) => {
      const m = await model<ContentModel>('content')
      return m
        ? contentScores(
            m.model,
            ctx.history.map((h) => h.id),
            ctx.owned,
            n,
          )
        : null
    },
  },
  segment: {
    name: 'segment',
    recommend: async (ctx, n) => {
      const m = await model<SegmentModel>('segment')
      return m ? segmentScores(m.model, ctx.userId, ctx.owned, n) : null
    },
  },
  blend: {
    name: 'blend',
    recommend: async (ctx, n) => {
      const m = await model<BlendModel>('blend')
      if (!m) return null
      // Candidates: every base strategy's list (one without a model contributes nothing).
      const CANDIDATES = 50
      const lists: Partial<Record<BaseStrategy, Scored[]>> = {}
      await Promise.all(
        BASE_STRATEGIES.map(async (s) => {
          lists[s] = (await strategies[s].recommend(ctx, CANDIDATES)) ?? []
        }),
      )
      return blendScores(m.model, lists, ctx.history, ctx.now, n)
    },
  },
}

/** The factory. */
export function createStrategy(name: ConcreteStrategy): Strategy {
  return strategies[name]
}

/** `auto`: cold start → the user's segment best sellers (else popular); otherwise the blend when a
 *  blend model is active, else co-occurrence. */
export async function pickAuto(ctx: UserContext): Promise<ConcreteStrategy> {
  if (ctx.history.length === 0) {
    const seg = await model<SegmentModel>('segment')
    return seg?.model.assignment.has(ctx.userId) ? 'segment' : 'popular'
  }
  return (await model<BlendModel>('blend')) ? 'blend' : 'cooccurrence'
}
