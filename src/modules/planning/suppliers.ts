// Suppliers, their offers, and the reliability score computed from purchase-order history.
import { sql } from 'drizzle-orm'
import { supplierOffers, suppliers } from '../../../db/schema'
import { type DbOrTx, db } from '../../infra/db'
import { decodeIdCursor, type Page, toPage } from '../../lib/cursor'
import { ConflictError, NotFoundError, ValidationProblem } from '../../lib/errors'
import { isForeignKeyViolation, isUniqueViolation } from '../../lib/pg-errors'

export type SupplierInput = { name: string; contactEmail: string; leadTimeDays: number }
export type Reliability = {
  reliability: number | null
  onTimeRate: number | null
  fillRate: number | null
  purchaseOrdersEvaluated: number
}
type SupplierRow = typeof suppliers.$inferSelect

const iso = (d: Date | string) => new Date(d).toISOString()
const r3 = (x: number) => Math.round(x * 1000) / 1000

/**
 * Reliability per supplier from its purchase orders. An order counts once it is finished
 * (received or closed) or overdue (still open past its expected day). On time = fully received by
 * the end of the expected day; fill = units received ÷ units ordered over finished orders (an
 * order closed short lowers it). Score = the mean of the two; null without any counted order.
 * `sinceDays`: only orders sent in that many last days (the recent trend).
 */
export async function reliabilityOf(ids: string[], tx: DbOrTx = db, sinceDays?: number): Promise<Map<string, Reliability>> {
  const out = new Map<string, Reliability>()
  if (ids.length === 0) return out
  const rows = await tx.execute<{ supplier_id: string; evaluated: number; on_time: number; received: number; ordered: number }>(sql`
    with po as (
      select p.supplier_id, p.status, p.expected_at, p.received_at,
        (select sum(l.quantity) from purchase_order_lines l where l.purchase_order_id = p.id) as ordered,
        (select sum(l.received) from purchase_order_lines l where l.purchase_order_id = p.id) as received
      from purchase_orders p
      where p.supplier_id in ${ids} and p.status not in ('draft', 'cancelled')
        ${sinceDays === undefined ? sql`` : sql`and p.sent_at >= now() - make_interval(days => ${sinceDays})`}
    )
    select supplier_id,
      count(*) filter (where status in ('received', 'closed') or expected_at < now() - interval '1 day')::int as evaluated,
      count(*) filter (where received_at is not null and received_at < expected_at + interval '1 day')::int as on_time,
      coalesce(sum(received) filter (where status in ('received', 'closed')), 0)::int as received,
      coalesce(sum(ordered) filter (where status in ('received', 'closed')), 0)::int as ordered
    from po group by supplier_id`)
  for (const r of rows) {
    const onTime = r.evaluated > 0 ? r.on_time / r.evaluated : null
    const fill = r.ordered > 0 ? r.received / r.ordered : null
    const parts = [onTime, fill].filter((x): x is number => x !== null)
    out.set(r.supplier_id, {
      reliability: parts.length ? r3(parts.reduce((a, b) => a + b, 0) / parts.length) : null,
      onTimeRate: onTime === null ? null : r3(onTime),
      fillRate: fill === null ? null : r3(fill),
      purchaseOrdersEvaluated: r.evaluated,
    })
  }
  return out
}

const NONE: Reliability = { reliability: null, onTimeRate: null, fillRate: null, purchaseOrdersEvaluated: 0 }

function view(s: SupplierRow, rel: Reliability | undefined) {
  return {
    id: s.id,
    name: s.name,
    contactEmail: s.contactEmail,
    leadTimeDays: s.leadTimeDays,
    ...(rel ?? NONE),
    createdAt: iso(s.createdAt),
    updatedAt: iso(s.updatedAt),
  }
}
export type SupplierView = ReturnType<typeof view>

export async function createSupplier(input: SupplierInput): Promise<SupplierView> {
  const [row] = await db.insert(suppliers).values(input).returning()
  return view(row as SupplierRow, undefined)
}

export async function getSupplier(id: string): Promise<SupplierView> {
  const [row] = await db.select().from(suppliers).where(sql`${suppliers.id} = ${id}`)
  if (!row) throw new NotFoundError('Supplier')
  return view(row, (await reliabilityOf([id])).get(id))
}

export async function listSuppliers(limit: number, cursor?: string): Promise<Page<SupplierView>> {
  const after = decodeIdCursor(cursor)
  const rows = await db
    .select()
    .from(suppliers)
    .where(after ? sql`${suppliers.id} > ${after}` : undefined)
    .orderBy(suppliers.id)
    .limit(limit + 1)
  const rel = await reliabilityOf(rows.map((r) => r.id))
  return toPage(
    rows.map((r) => view(r, rel.get(r.id))),
    limit,
    (s) => [s.id],
  )
}

export async function updateSupplier(id: string, patch: Partial<SupplierInput>): Promise<SupplierView> {
  const [row] = await db
    .update(suppliers)
    .set({ ...patch, updatedAt: new Date() })
    .where(sql`${suppliers.id} = ${id}`)
    .returning()
  if (!row) throw new NotFoundError('Supplier')
  return view(row, (await reliabilityOf([id])).get(id))
}

/** A supplier with purchase orders keeps them as its record: deleting it is refused (409). */
export async function deleteSupplier(id: string): Promise<void> {
  try {
    const rows = await db.delete(suppliers).where(sql`${suppliers.id} = ${id}`).returning({ id: suppliers.id })
    if (rows.length === 0) throw new NotFoundError('Supplier')
  } catch (err) {
    if (isForeignKeyViolation(err)) throw new ConflictError('This supplier has purchase orders; it cannot be deleted', 'supplier_in_use')
    throw err
  }
}

export type OfferInput = { productId: string; unitCostCents: number; minOrderQuantity: number; packSize: number; leadTimeDays?: number }
type OfferRow = typeof supplierOffers.$inferSelect
const offerView = (o: OfferRow) => ({
  id: o.id,
  supplierId: o.supplierId,
  productId: o.productId,
  unitCostCents: o.unitCostCents,
  minOrderQuantity: o.minOrderQuantity,
  packSize: o.packSize,
  leadTimeDays: o.leadTimeDays,
  createdAt: iso(o.createdAt),
})

export async function addOffer(supplierId: string, input: OfferInput) {
  await getSupplier(supplierId)
  try {
    const [row] = await db
      .insert(supplierOffers)
      .values({ supplierId, ...input, leadTimeDays: input.leadTimeDays ?? null })
      .returning()
    return offerView(row as OfferRow)
  } catch (err) {
    if (isUniqueViolation(err)) throw new ConflictError('This supplier already has an offer for this product', 'offer_exists')
    if (isForeignKeyViolation(err)) throw ValidationProblem.field('productId', 'is not a known product')
    throw err
  }
}

export async function listOffers(supplierId: string) {
  await getSupplier(supplierId)
  const rows = await db.select().from(supplierOffers).where(sql`${supplierOffers.supplierId} = ${supplierId}`).orderBy(supplierOffers.id)
  return { items: rows.map(offerView) }
}

export type Candidate = OfferRow & { leadTime: number; reliability: number | null }

/** Every offer for a product, with its effective lead time and its supplier's reliability. */
export async function offersForProduct(productId: string, tx: DbOrTx = db): Promise<Candidate[]> {
  const rows = await tx
    .select({ o: supplierOffers, supplierLead: suppliers.leadTimeDays })
    .from(supplierOffers)
    .innerJoin(suppliers, sql`${suppliers.id} = ${supplierOffers.supplierId}`)
    .where(sql`${supplierOffers.productId} = ${productId}`)
  const rel = await reliabilityOf(
    rows.map((r) => r.o.supplierId),
    tx,
  )
  return rows.map((r) => ({
    ...r.o,
    leadTime: r.o.leadTimeDays ?? r.supplierLead,
    reliability: rel.get(r.o.supplierId)?.reliability ?? null,
  }))
}
