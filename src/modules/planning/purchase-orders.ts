// Purchase orders: draft → sent → partially_received → received → closed, or cancelled. Receiving
// restocks through the inventory module in the same transaction as the received counts and the
// receipt row, so a receipt is all-or-nothing. Fences: the PO row is locked first (one receipt
// at a time per order), the line update is conditional (received + q ≤ quantity) under a CHECK,
// and the receipt's (order, Idempotency-Key) is unique — a replayed key restocks nothing.
import { sql } from 'drizzle-orm'
import { type PurchaseOrderStatus, purchaseOrderLines, purchaseOrders, supplierOffers, suppliers } from '../../../db/schema'
import { type DbOrTx, db, type Tx } from '../../infra/db'
import { decodeIdCursor, type Page, toPage } from '../../lib/cursor'
import { ConflictError, NotFoundError, ValidationProblem } from '../../lib/errors'
import { isForeignKeyViolation } from '../../lib/pg-errors'
import { restockInTransaction } from '../inventory/service'

type PoRow = typeof purchaseOrders.$inferSelect
type LineRow = typeof purchaseOrderLines.$inferSelect
export type PoLineInput = { productId: string; quantity: number; unitCostCents?: number }

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString())

/** The transitions each action allows, in one place. */
const FROM: Record<'send' | 'cancel' | 'receive' | 'close', readonly PurchaseOrderStatus[]> = {
  send: ['draft'],
  cancel: ['draft', 'sent'],
  receive: ['sent', 'partially_received'],
  close: ['partially_received', 'received'],
}

export class TransitionRefused extends ConflictError {
  constructor(action: keyof typeof FROM, status: PurchaseOrderStatus) {
    const allowed = FROM[action]
    super(`Cannot ${action} a purchase order that is ${status}`, 'invalid_transition', {
      status,
      allowed,
      errors: [{ field: 'status', message: `is ${status}; ${action} needs ${allowed.join(' or ')}` }],
    })
  }
}

function view(po: PoRow, lines: LineRow[]) {
  return {
    id: po.id,
    supplierId: po.supplierId,
    status: po.status,
    expectedAt: iso(po.expectedAt),
    sentAt: iso(po.sentAt),
    receivedAt: iso(po.receivedAt),
    closedAt: iso(po.closedAt),
    cancelledAt: iso(po.cancelledAt),
    createdAt: iso(po.createdAt) as string,
    updatedAt: iso(po.updatedAt) as string,
    totalCents: lines.reduce((a, l) => a + l.quantity * l.unitCostCents, 0),
    lines: lines
      .map((l) => ({ productId: l.productId, quantity: l.quantity, received: l.received, unitCostCents: l.unitCostCents }))
      .sort((a, b) => (a.productId < b.productId ? -1 : 1)),
  }
}
export type PurchaseOrderView = ReturnType<typeof view>

async function linesOf(tx: DbOrTx, ids: string[]): Promise<Map<string, LineRow[]>> {
  const out = new Map<string, LineRow[]>()
  if (ids.length === 0) return out
  const rows = await tx.select().from(purchaseOrderLines).where(sql`${purchaseOrderLines.purchaseOrderId} in ${ids}`)
  for (const r of rows) out.set(r.purchaseOrderId, [...(out.get(r.purchaseOrderId) ?? []), r])
  return out
}

export async function getPurchaseOrder(id: string, tx: DbOrTx = db): Promise<PurchaseOrderView> {
  const [po] = await tx.select().from(purchaseOrders).where(sql`${purchaseOrders.id} = ${id}`)
  if (!po) throw new NotFoundError('Purchase order')
  return view(po, (await linesOf(tx, [id])).get(id) ?? [])
}

export async function listPurchaseOrders(q: {
  status?: PurchaseOrderStatus
  supplierId?: string
  limit: number
  cursor?: string
}): Promise<Page<PurchaseOrderView>> {
  const after = decodeIdCursor(q.cursor)
  const rows = await db
    .select()
    .from(purchaseOrders)
    .where(
      sql`true ${q.status ? sql`and ${purchaseOrders.status} = ${q.status}` : sql``}
        ${q.supplierId ? sql`and ${purchaseOrders.supplierId} = ${q.supplierId}` : sql``}
        ${after ? sql`and ${purchaseOrders.id} < ${after}` : sql``}`,
    )
    .orderBy(sql`${purchaseOrders.id} desc`)
    .limit(q.limit + 1)
  const lines = await linesOf(
    db,
    rows.map((r) => r.id),
  )
  return toPage(
    rows.map((r) => view(r, lines.get(r.id) ?? [])),
    q.limit,
    (p) => [p.id],
  )
}

/** Lines without a price take the supplier's offer; a line with neither is a 422 naming it. */
export async function createPurchaseOrder(input: { supplierId: string; lines: PoLineInput[]; expectedAt?: string }, tx?: Tx) {
  const seen = new Set<string>()
  input.lines.forEach((l, i) => {
    if (seen.has(l.productId)) throw ValidationProblem.field(`lines.${i}.productId`, 'appears twice; put the whole quantity on one line')
    seen.add(l.productId)
  })
  if (input.expectedAt !== undefined && Date.parse(input.expectedAt) < Date.now() - 86_400_000)
    throw ValidationProblem.field('expectedAt', 'must not be in the past')
  const run = async (t: Tx) => {
    const [sup] = await t.select({ id: suppliers.id }).from(suppliers).where(sql`${suppliers.id} = ${input.supplierId}`)
    if (!sup) throw ValidationProblem.field('supplierId', 'is not a known supplier')
    const offers = await t.select().from(supplierOffers).where(sql`${supplierOffers.supplierId} = ${input.supplierId}`)
    const cost = new Map(offers.map((o) => [o.productId, o.unitCostCents]))
    const priced = input.lines.map((l, i) => {
      const unitCostCents = l.unitCostCents ?? cost.get(l.productId)
      if (unitCostCents === undefined)
        throw ValidationProblem.field(`lines.${i}.unitCostCents`, 'is required: the supplier has no offer for this product')
      return { ...l, unitCostCents }
    })
    const [po] = await t
      .insert(purchaseOrders)
      .values({ supplierId: input.supplierId, expectedAt: input.expectedAt ? new Date(input.expectedAt) : null })
      .returning()
    const id = (po as PoRow).id
    for (const [i, l] of priced.entries()) {
      try {
        await t.execute(sql`savepoint po_line`)
        await t.insert(purchaseOrderLines).values({ purchaseOrderId: id, ...l })
        await t.execute(sql`release savepoint po_line`)
      } catch (err) {
        if (isForeignKeyViolation(err)) throw ValidationProblem.field(`lines.${i}.productId`, 'is not a known product')
        throw err
      }
    }
    return getPurchaseOrder(id, t)
  }
  return tx ? run(tx) : db.transaction(run)
}

/** Locks the order (FOR UPDATE) and checks the action is allowed from its status. */
async function lockFor(tx: Tx, id: string, action: keyof typeof FROM): Promise<PoRow> {
  const [po] = await tx.select().from(purchaseOrders).where(sql`${purchaseOrders.id} = ${id}`).for('update')
  if (!po) throw new NotFoundError('Purchase order')
  if (!FROM[action].includes(po.status)) throw new TransitionRefused(action, po.status)
  return po
}

/** draft → sent; the expected date defaults to now + the longest lead time among its lines. */
export function sendPurchaseOrder(id: string) {
  return db.transaction(async (tx) => {
    await lockFor(tx, id, 'send')
    await tx.execute(sql`
      update purchase_orders p set status = 'sent', sent_at = now(), updated_at = now(),
        expected_at = coalesce(p.expected_at, now() + make_interval(days => (
          select coalesce(max(coalesce(o.lead_time_days, s.lead_time_days)), s.lead_time_days)
          from suppliers s
          left join purchase_order_lines l on l.purchase_order_id = p.id
          left join supplier_offers o on o.supplier_id = s.id and o.product_id = l.product_id
          where s.id = p.supplier_id group by s.lead_time_days)))
      where p.id = ${id}`)
    return getPurchaseOrder(id, tx)
  })
}

export function cancelPurchaseOrder(id: string) {
  return db.transaction(async (tx) => {
    await lockFor(tx, id, 'cancel')
    await tx.execute(sql`update purchase_orders set status = 'cancelled', cancelled_at = now(), updated_at = now() where id = ${id}`)
    return getPurchaseOrder(id, tx)
  })
}

/** Received in full, or closed short (what never came is counted against the fill rate). */
export function closePurchaseOrder(id: string) {
  return db.transaction(async (tx) => {
    await lockFor(tx, id, 'close')
    await tx.execute(sql`update purchase_orders set status = 'closed', closed_at = now(), updated_at = now() where id = ${id}`)
    return getPurchaseOrder(id, tx)
  })
}

export type ReceiveLine = { productId: string; quantity: number }

/**
 * Applies one receipt. The same (order, key) a second time returns the order as it is now and
 * restocks nothing. More than the outstanding quantity of a line → 409 naming the line; a product
 * not on the order → 422.
 */
export async function receivePurchaseOrder(id: string, lines: ReceiveLine[], idempotencyKey: string): Promise<PurchaseOrderView> {
  const seen = new Set<string>()
  lines.forEach((l, i) => {
    if (seen.has(l.productId)) throw ValidationProblem.field(`lines.${i}.productId`, 'appears twice in this receipt')
    seen.add(l.productId)
  })
  return db.transaction(async (tx) => {
    const [po] = await tx.select().from(purchaseOrders).where(sql`${purchaseOrders.id} = ${id}`).for('update')
    if (!po) throw new NotFoundError('Purchase order')
    const receipt = await tx.execute<{ id: string }>(sql`
      insert into purchase_order_receipts (id, purchase_order_id, idempotency_key, lines)
      values (${Bun.randomUUIDv7()}, ${id}, ${idempotencyKey}, ${JSON.stringify(lines)}::jsonb)
      on conflict (purchase_order_id, idempotency_key) do nothing returning id`)
    const receiptId = receipt[0]?.id
    if (!receiptId) return getPurchaseOrder(id, tx)
    if (!FROM.receive.includes(po.status)) throw new TransitionRefused('receive', po.status)
    for (const [i, l] of lines.entries()) {
      const rows = await tx.execute<{ received: number }>(sql`
        update purchase_order_lines set received = received + ${l.quantity}
        where purchase_order_id = ${id} and product_id = ${l.productId} and received + ${l.quantity} <= quantity
        returning received`)
      if (rows.length > 0) continue
      const [line] = await tx
        .select()
        .from(purchaseOrderLines)
        .where(sql`${purchaseOrderLines.purchaseOrderId} = ${id} and ${purchaseOrderLines.productId} = ${l.productId}`)
      if (!line) throw ValidationProblem.field(`lines.${i}.productId`, 'is not on this purchase order')
      const left = line.quantity - line.received
      throw new ConflictError(`Only ${left} of ${l.productId} are outstanding on this purchase order`, 'over_receipt', {
        errors: [{ field: `lines.${i}.quantity`, message: `must be at most ${left} (outstanding)` }],
      })
    }
    await restockInTransaction(tx, lines, `purchase order ${id} receipt ${receiptId}`)
    await tx.execute(sql`
      update purchase_orders p set updated_at = now(),
        status = case when x.done then 'received' else 'partially_received' end,
        received_at = case when x.done then now() else null end
      from (select bool_and(received = quantity) as done from purchase_order_lines where purchase_order_id = ${id}) x
      where p.id = ${id}`)
    return getPurchaseOrder(id, tx)
  })
}

/** Units still to come per product (draft, sent and partially received orders). */
export async function onOrder(productIds: string[], tx: DbOrTx = db): Promise<Map<string, number>> {
  if (productIds.length === 0) return new Map()
  const rows = await tx.execute<{ product_id: string; units: number }>(sql`
    select l.product_id, sum(l.quantity - l.received)::int as units
    from purchase_order_lines l join purchase_orders p on p.id = l.purchase_order_id
    where l.product_id in ${productIds} and p.status in ('draft', 'sent', 'partially_received')
    group by l.product_id`)
  return new Map(rows.map((r) => [r.product_id, r.units]))
}
