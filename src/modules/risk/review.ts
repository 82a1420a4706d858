// The review queue: list and read held/flagged orders, approve or reject them. A decision is one
// conditional UPDATE (status = 'pending'), so of any number of concurrent decisions exactly one
// takes effect; repeating the decision that won is a no-op answered 200, the other one a 409.
import { and, desc, eq, gt, lt, ne, sql } from 'drizzle-orm'
import { orderRisk, riskPaymentEvents } from '../../../db/schema'
import { db, type Tx } from '../../infra/db'
import { counter } from '../../infra/metrics'
import { audit } from '../../lib/audit'
import { decodeIdCursor, type Page, toPage } from '../../lib/cursor'
import { ConflictError, NotFoundError } from '../../lib/errors'
import { resolveAlert } from '../alerts/general'
import { accountCreatedMs } from './features'
import type { ReviewDetail, ReviewItem } from './model'

const decided = counter('risk_reviews_decided_total', 'Risk reviews decided, by decision', ['decision'])

type Row = typeof orderRisk.$inferSelect

/** What a decision does to the order; implemented by the orders module and handed in by the app. */
export type OrderReviewActions = {
  /** on_hold → pending_payment with a fresh payment window; any other status: nothing to do */
  approve(tx: Tx, orderId: string, actor: string): Promise<unknown>
  /** cancel (stock released) or, if paid, refund; returns work to run after the commit */
  reject(tx: Tx, orderId: string, actor: string): Promise<unknown>
  afterCommit(work: unknown): Promise<void>
  /** the order's status, for the review view */
  statusOf(orderId: string): Promise<string | null>
}

const item = (r: Row): ReviewItem => ({
  orderId: r.orderId,
  score: r.score,
  reasons: r.reasons,
  status: r.status,
  createdAt: r.createdAt.toISOString(),
})

export async function listReviews(q: {
  status?: 'pending' | 'approved' | 'rejected'
  limit: number
  cursor?: string
}): Promise<Page<ReviewItem>> {
  const after = decodeIdCursor(q.cursor)
  const rows = await db
    .select()
    .from(orderRisk)
    // `<> 'none'` is the partial index's predicate (order_risk_review_idx).
    .where(
      and(
        ne(orderRisk.status, 'none'),
        q.status ? eq(orderRisk.status, q.status) : undefined,
        after ? lt(orderRisk.orderId, after) : undefined,
      ),
    )
    .orderBy(desc(orderRisk.orderId))
    .limit(q.limit + 1)
  const page = toPage(rows, q.limit, (r) => [r.orderId])
  return { items: page.items.map(item), nextCursor: page.nextCursor }
}

async function detail(r: Row, orderStatus: string | null): Promise<ReviewDetail> {
  const [pattern] = (await db.execute(sql`
    select count(*) filter (where paid_at is not null)::int as paid,
           (percentile_cont(0.5) within group (order by amount_cents) filter (where paid_at is not null))::float8 as median,
           (avg(amount_cents) filter (where paid_at is not null))::float8 as mean,
           count(*) filter (where created_at > now() - interval '24 hours')::int as recent
    from order_risk where user_id = ${r.userId}`)) as unknown as {
    paid: number
    median: number | null
    mean: number | null
    recent: number
  }[]
  const [fails] = await db
    .select({ n: sql<number>`count(*)::int` })
    .from(riskPaymentEvents)
    .where(
      and(
        eq(riskPaymentEvents.userId, r.userId),
        eq(riskPaymentEvents.outcome, 'failed'),
        gt(riskPaymentEvents.at, sql`now() - interval '24 hours'`),
      ),
    )
  // Linked accounts: others who ordered from an address this customer used in the last 7 days.
  const linked = (await db.execute(sql`
    select o.user_id as "userId", o.ip, max(o.created_at) as "lastSeenAt"
    from order_risk o
    where o.ip in (select distinct ip from order_risk where user_id = ${r.userId} and ip is not null and created_at > now() - interval '7 days')
      and o.user_id <> ${r.userId} and o.created_at > now() - interval '7 days'
    group by o.user_id, o.ip order by max(o.created_at) desc limit 50`)) as unknown as {
    userId: string
    ip: string
    lastSeenAt: string | Date
  }[]
  const created = accountCreatedMs(r.userId)
  const int = (x: number | null | undefined) => (x === null || x === undefined ? null : Math.round(Number(x)))
  return {
    ...item(r),
    degraded: r.degraded,
    orderStatus: orderStatus ?? 'unknown',
    ip: r.ip,
    amountCents: r.amountCents,
    currency: r.currency,
    decidedAt: r.decidedAt?.toISOString() ?? null,
    decidedBy: r.decidedBy,
    customer: {
      userId: r.userId,
      accountCreatedAt: created === null ? null : new Date(created).toISOString(),
      paidOrders: pattern?.paid ?? 0,
      medianAmountCents: int(pattern?.median),
      meanAmountCents: int(pattern?.mean),
      ordersLast24h: pattern?.recent ?? 0,
      failedPaymentsLast24h: fails?.n ?? 0,
    },
    linkedAccounts: linked.map((l) => ({
      userId: l.userId,
      via: 'ip' as const,
      ip: l.ip,
      lastSeenAt: new Date(l.lastSeenAt).toISOString(),
    })),
  }
}

async function reviewRow(orderId: string): Promise<Row> {
  const [r] = await db.select().from(orderRisk).where(eq(orderRisk.orderId, orderId))
  // Orders below the review threshold are not reviews: same answer as an unknown order.
  if (!r || r.status === 'none') throw new NotFoundError('Risk review')
  return r
}

export async function getReview(orderId: string, actions: OrderReviewActions): Promise<ReviewDetail> {
  const r = await reviewRow(orderId)
  return detail(r, await actions.statusOf(orderId))
}

export async function decideReview(
  orderId: string,
  decision: 'approve' | 'reject',
  admin: { id: string },
  meta: { ip: string; requestId: string } | null,
  actions: OrderReviewActions,
): Promise<ReviewDetail> {
  const target = decision === 'approve' ? 'approved' : 'rejected'
  const actor = `admin:${admin.id}`
  const work = await db.transaction(async (tx) => {
    const [won] = await tx
      .update(orderRisk)
      .set({ status: target, decidedAt: sql`now()`, decidedBy: actor })
      .where(and(eq(orderRisk.orderId, orderId), eq(orderRisk.status, 'pending')))
      .returning()
    if (!won) {
      const [cur] = await tx.select().from(orderRisk).where(eq(orderRisk.orderId, orderId))
      if (!cur || cur.status === 'none') throw new NotFoundError('Risk review')
      if (cur.status === target) return null // the same decision again: already done
      throw new ConflictError(`This review was already ${cur.status}`, 'review_already_decided', { reviewStatus: cur.status })
    }
    const after = decision === 'approve' ? await actions.approve(tx, orderId, actor) : await actions.reject(tx, orderId, actor)
    await resolveAlert(tx, 'risk_review', orderId)
    await audit(tx, decision === 'approve' ? 'risk_review_approve' : 'risk_review_reject', admin.id, meta, {
      orderId,
      score: won.score,
      reasons: won.reasons.map((x) => x.code),
    })
    return { after }
  })
  if (work) {
    decided.inc({ decision })
    await actions.afterCommit(work.after)
  }
  return getReview(orderId, actions)
}
