// Flash-sale events (issue 21): admin CRUD, the public views, the sale order (an ordinary order at
// the sale price whose units come from the sale's pool: orders' createOrder with SpecialTerms), and
// the sweep that installs gates before the opening and returns unsold units at the end. Stock is
// moved only through the inventory module's pool functions.
import { and, asc, desc, eq, gt, inArray, sql } from 'drizzle-orm'
import { sales } from '../../../db/schema'
import { config } from '../../config'
import { db } from '../../infra/db'
import { logger } from '../../infra/logger'
import { ConflictError, ValidationProblem } from '../../lib/errors'
import type { AuthUser } from '../../plugins/auth'
import { getProductsForOrder } from '../catalog/service'
import {
  closePool,
  growPoolTo,
  installPoolGate,
  OutOfStockError,
  openPool,
  PoolRefusal,
  type PoolTicket,
  poolsDue,
  reschedulePool,
  reserveFromPool,
} from '../inventory/service'
import { publishSaleStatus } from '../live'
import { createOrder } from '../orders/checkout'
import type { OrderView } from '../orders/model'
import { PerCustomerLimitError, refusalError, SaleEndedError, SaleNotFoundError, SaleNotStartedError } from './errors'
import type { AdminSaleView, CreateSaleBody, PatchSaleBody, SaleView } from './model'
import { forgetSale, forgetSaleLocally, publicView, type Snapshot, saleSnapshot } from './snapshot'

const LIST_LIMIT = 200

function parseTime(field: string, v: string): Date {
  const d = new Date(v)
  if (Number.isNaN(d.getTime())) throw ValidationProblem.field(field, 'must be an ISO 8601 date-time')
  return d
}

function checkWindow(startsAt: Date, endsAt: Date, now: number): void {
  if (endsAt.getTime() <= startsAt.getTime()) throw ValidationProblem.field('endsAt', 'must be after startsAt')
  if (endsAt.getTime() <= now) throw ValidationProblem.field('endsAt', 'must be in the future')
}

/** The answer a sale gives an order of `quantity` at `now` before any stock is looked at; null = go on. */
export function earlyRefusal(s: Snapshot, quantity: number, now: number): Error | null {
  if (s.sale.state === 'cancelled') return new SaleEndedError('cancelled')
  if (now >= s.sale.endsAt.getTime() || s.pool?.closed) return new SaleEndedError('ended')
  if (now < s.sale.startsAt.getTime()) return new SaleNotStartedError(s.sale.startsAt, now)
  if (quantity > s.sale.perCustomerLimit) return new PerCustomerLimitError(s.sale.perCustomerLimit)
  return null
}

export async function requireSnapshot(id: string): Promise<Snapshot> {
  const s = await saleSnapshot(id)
  if (!s) throw new SaleNotFoundError()
  return s
}

async function freshSnapshot(id: string): Promise<Snapshot> {
  await forgetSale(id)
  return requireSnapshot(id)
}

/**
 * Tells the sale's watchers (GET /sales/:id/live, the admin feed's sale.status) its status and
 * remaining units. Best-effort: the live module coalesces bursts and shrugs off a Redis outage.
 */
async function announce(id: string): Promise<void> {
  try {
    const s = await saleSnapshot(id)
    if (!s) return
    const v = publicView(s, Date.now())
    await publishSaleStatus(id, { status: v.status, remaining: v.remaining })
  } catch (err) {
    logger.warn({ err, saleId: id }, 'sale status not announced')
  }
}

function adminView(s: Snapshot, now = Date.now()): AdminSaleView {
  const p = s.pool
  return {
    ...publicView(s, now),
    perCustomerLimit: s.sale.perCustomerLimit,
    units: p?.units ?? 0,
    held: p?.held ?? 0,
    sold: p?.sold ?? 0,
    returned: p?.returned ?? 0,
    createdAt: s.sale.createdAt.toISOString(),
  }
}

export async function createSale(body: CreateSaleBody): Promise<AdminSaleView> {
  const startsAt = parseTime('startsAt', body.startsAt)
  const endsAt = parseTime('endsAt', body.endsAt)
  checkWindow(startsAt, endsAt, Date.now())
  const products = await getProductsForOrder(db, [body.productId])
  if (!products.has(body.productId)) throw ValidationProblem.field('productId', 'does not exist or is no longer sold')
  const id = Bun.randomUUIDv7()
  try {
    await openPool({ saleId: id, productId: body.productId, units: body.units, opensAt: startsAt, closesAt: endsAt }, async (tx) => {
      await tx.insert(sales).values({
        id,
        productId: body.productId,
        salePriceCents: body.salePriceCents,
        startsAt,
        endsAt,
        perCustomerLimit: body.perCustomerLimit,
      })
    })
  } catch (err) {
    if (err instanceof OutOfStockError)
      throw new ConflictError(`The product does not have ${body.units} available units to put on sale`, 'out_of_stock', {
        productIds: [body.productId],
      })
    throw err
  }
  if (startsAt.getTime() - Date.now() <= config.SALES_GATE_LEAD_SECONDS * 1000) await installPoolGate(id)
  await announce(id)
  return adminView(await requireSnapshot(id))
}

async function snapshotsOf(rows: (typeof sales.$inferSelect)[]): Promise<Snapshot[]> {
  const snaps = await Promise.all(rows.map((r) => saleSnapshot(r.id)))
  return snaps.filter((s): s is Snapshot => s !== null)
}

export async function listSalesAdmin(): Promise<{ items: AdminSaleView[] }> {
  const rows = await db.select().from(sales).orderBy(desc(sales.id)).limit(LIST_LIMIT)
  const now = Date.now()
  return { items: (await snapshotsOf(rows)).map((s) => adminView(s, now)) }
}

/** Scheduled and live sales (sold out included until the end), soonest first. */
export async function listSalesPublic(): Promise<{ items: SaleView[] }> {
  const rows = await db
    .select()
    .from(sales)
    .where(and(eq(sales.state, 'scheduled'), gt(sales.endsAt, sql`now()`)))
    .orderBy(asc(sales.startsAt))
    .limit(LIST_LIMIT)
  const now = Date.now()
  return { items: (await snapshotsOf(rows)).map((s) => publicView(s, now)) }
}

export async function getSaleAdmin(id: string): Promise<AdminSaleView> {
  return adminView(await requireSnapshot(id))
}

/** Reschedule (only before the start) and/or raise the units (until the end). */
export async function patchSale(id: string, body: PatchSaleBody): Promise<AdminSaleView> {
  const after = await db.transaction(async (tx) => {
    const [s] = await tx.select().from(sales).where(eq(sales.id, id)).for('update')
    if (!s) throw new SaleNotFoundError()
    const now = Date.now()
    if (s.state === 'cancelled') throw new ConflictError('The sale was cancelled', 'sale_cancelled')
    if (now >= s.endsAt.getTime()) throw new ConflictError('The sale has ended', 'sale_ended')
    if (body.startsAt !== undefined || body.endsAt !== undefined) {
      if (now >= s.startsAt.getTime()) throw new ConflictError('A sale can be rescheduled only before it starts', 'sale_started')
      const startsAt = body.startsAt !== undefined ? parseTime('startsAt', body.startsAt) : s.startsAt
      const endsAt = body.endsAt !== undefined ? parseTime('endsAt', body.endsAt) : s.endsAt
      checkWindow(startsAt, endsAt, now)
      await tx.update(sales).set({ startsAt, endsAt, updatedAt: sql`now()` }).where(eq(sales.id, id))
      await reschedulePool(tx, id, startsAt, endsAt)
    }
    if (body.units === undefined) return async () => {}
    try {
      return await growPoolTo(tx, id, body.units)
    } catch (err) {
      if (err instanceof RangeError) throw ValidationProblem.field('units', err.message)
      if (err instanceof PoolRefusal) throw new ConflictError('The sale has ended', 'sale_ended')
      if (err instanceof OutOfStockError)
        throw new ConflictError('The product does not have that many more available units', 'out_of_stock', { productIds: [s.productId] })
      throw err
    }
  })
  await after()
  const view = adminView(await freshSnapshot(id))
  await announce(id)
  return view
}

/** Cancels a sale that has not ended: its pool closes at once and its free units go back. */
export async function cancelSale(id: string): Promise<AdminSaleView> {
  const done = await db.transaction(async (tx) => {
    const [s] = await tx.select().from(sales).where(eq(sales.id, id)).for('update')
    if (!s) throw new SaleNotFoundError()
    if (s.state === 'cancelled') throw new ConflictError('The sale is already cancelled', 'sale_cancelled')
    if (Date.now() >= s.endsAt.getTime()) throw new ConflictError('The sale has ended', 'sale_ended')
    await tx.update(sales).set({ state: 'cancelled', updatedAt: sql`now()` }).where(eq(sales.id, id))
    // The pool refuses from this commit on (its window ends now); closing it gives the units back,
    // and should that step fail, the sweep closes it as due.
    const now = new Date()
    await reschedulePool(tx, id, s.startsAt.getTime() < now.getTime() ? s.startsAt : now, now)
    return true
  })
  if (done) await closePool(id, 'cancelled')
  const view = adminView(await freshSnapshot(id))
  await announce(id)
  return view
}

/** POST /sales/:id/orders after the door: an ordinary order at the sale price, from the pool. */
export async function placeSaleOrder(
  user: Pick<AuthUser, 'id'>,
  saleId: string,
  quantity: number,
  idempotencyKey: string | null,
  ticket: PoolTicket | null,
): Promise<OrderView> {
  const s = await requireSnapshot(saleId)
  const early = earlyRefusal(s, quantity, Date.now())
  if (early) throw early
  try {
    const order = await createOrder(user.id, { items: [{ productId: s.sale.productId, quantity }] }, idempotencyKey, null, {
      unitPriceCents: s.sale.salePriceCents,
      reserve: (input) =>
        reserveFromPool({
          ...input,
          saleId,
          userId: user.id,
          quantity,
          perCustomerLimit: s.sale.perCustomerLimit,
          ticket,
        }),
    })
    forgetSaleLocally(saleId)
    void announce(saleId)
    return order
  } catch (err) {
    if (err instanceof PoolRefusal) throw refusalError(err.reason, s.sale)
    throw err
  } finally {
    // This process's next view of the sale counts what just happened (other instances: ≤ the TTL).
    forgetSaleLocally(saleId)
  }
}

/**
 * The scheduled sweep (jobs/, every SCHEDULE_SALES_MS): installs the Redis gate of every sale
 * opening within SALES_GATE_LEAD_SECONDS (so the opening second never reads Postgres for a loser),
 * and closes the pools whose sale ended or was cancelled (unsold and returned units go back to the
 * product, ledgered). Idempotent; several workers may run it.
 */
export async function sweepSales(): Promise<{ installed: number; closed: number; returned: number }> {
  const due = await poolsDue(config.SALES_GATE_LEAD_SECONDS * 1000)
  let installed = 0
  for (const id of due.toInstall) {
    if (await installPoolGate(id)) installed++
    await announce(id)
  }
  let returned = 0
  for (const id of due.toClose) {
    returned += await closePool(id, 'sale ended')
    await forgetSale(id).catch(() => {})
    await announce(id)
  }
  if (due.toClose.length) logger.info({ closed: due.toClose.length, returned }, 'sale pools closed')
  return { installed, closed: due.toClose.length, returned }
}

/** Products with a sale open now (not cancelled): search highlights them (see search's SaleLookup). */
export async function productsInOpenSales(productIds: readonly string[]): Promise<ReadonlySet<string>> {
  const rows = await db
    .select({ productId: sales.productId })
    .from(sales)
    .where(
      and(
        inArray(sales.productId, [...productIds]),
        eq(sales.state, 'scheduled'),
        sql`${sales.startsAt} <= now()`,
        sql`${sales.endsAt} > now()`,
      ),
    )
  return new Set(rows.map((r) => r.productId))
}
