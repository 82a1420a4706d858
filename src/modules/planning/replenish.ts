// Reorder suggestions, and the planning alerts raised into the alerts module's list (the
// arithmetic is in reorder-point.ts).
import { sql } from 'drizzle-orm'
import { reorderSuggestions } from '../../../db/schema'
import { config } from '../../config'
import { db } from '../../infra/db'
import { ConflictError, NotFoundError } from '../../lib/errors'
import { clearAlert, clearAlertsExcept, raiseAlert, type Severity } from '../alerts/raised'
import { getInventory, setReplanLevel } from '../inventory/service'
import { forecastFor, plannedProducts } from './demand'
import { createPurchaseOrder, onOrder } from './purchase-orders'
import { bigSaleUnits, planQuantity, replanLevel, supplierCost } from './reorder-point'
import { offersForProduct, reliabilityOf } from './suppliers'

const DAY = 86_400_000

/** Recomputes one product's open suggestion and stock-out alert. */
/** `forecastMaxAgeMs` 0 = refit the forecast first (after a big sale). */
export async function suggestForProduct(productId: string, forecastMaxAgeMs?: number): Promise<'suggested' | 'none' | 'no_offer' | 'gone'> {
  let inv: Awaited<ReturnType<typeof getInventory>>
  try {
    inv = await getInventory(productId)
  } catch (err) {
    // Deleted since the event or the sweep's page was read: nothing to plan.
    if (err instanceof NotFoundError) return 'gone'
    throw err
  }
  const f = await forecastFor(productId, forecastMaxAgeMs)
  const offers = await offersForProduct(productId)
  const best = offers.sort((a, b) => supplierCost(a) - supplierCost(b))[0]
  const coming = (await onOrder([productId])).get(productId) ?? 0
  const plan = planQuantity({
    forecast: f.forecast.map((p) => p.value),
    sigma: f.sigma,
    leadTime: best?.leadTime ?? 0,
    serviceLevel: config.PLANNING_SERVICE_LEVEL_PERCENT / 100,
    manualReorderPoint: inv.reorderPoint,
    available: inv.available,
    onOrder: coming,
    moq: best?.minOrderQuantity ?? 1,
    packSize: best?.packSize ?? 1,
  })
  await recordPlan(productId, plan.reorderPoint, inv.available, f.forecast)
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate())
  const stockoutDate = plan.stockoutDay === null ? null : new Date(today + plan.stockoutDay * DAY).toISOString().slice(0, 10)
  await setAlert(
    'stockout_risk',
    productId,
    best && plan.stockoutDay !== null && plan.stockoutDay < best.leadTime
      ? {
          severity: plan.stockoutDay <= 1 ? 'critical' : 'warning',
          message: `projected stock-out ${stockoutDate}, before a reorder could arrive (lead time ${best.leadTime} days)`,
        }
      : null,
  )
  if (!best || plan.quantity === 0) {
    await db.execute(sql`delete from reorder_suggestions where product_id = ${productId} and status = 'open'`)
    return best ? 'none' : 'no_offer'
  }
  const reason =
    `available ${inv.available} + on order ${coming} ≤ reorder point ${plan.reorderPoint} ` +
    `(lead-time demand ${plan.leadDemand.toFixed(1)} over ${best.leadTime} days + safety stock ${plan.safetyStock.toFixed(1)} at ` +
    `${config.PLANNING_SERVICE_LEVEL_PERCENT} %; manual reorder point ${inv.reorderPoint}; forecast ${f.method})`
  await db.execute(sql`
    insert into reorder_suggestions (id, product_id, supplier_id, quantity, projected_stockout_date, reason)
    values (${Bun.randomUUIDv7()}, ${productId}, ${best.supplierId}, ${plan.quantity}, ${stockoutDate}, ${reason})
    on conflict (product_id) where status = 'open' do update set supplier_id = excluded.supplier_id,
      quantity = excluded.quantity, projected_stockout_date = excluded.projected_stockout_date,
      reason = excluded.reason, updated_at = now()`)
  return 'suggested'
}

const bigSale = (forecast: readonly { value: number }[]) =>
  bigSaleUnits(
    forecast.map((p) => p.value),
    config.PLANNING_BIG_SALE_DAYS,
    config.PLANNING_BIG_SALE_MIN_UNITS,
  )

/**
 * Stores the plan beside its forecast and asks inventory to announce (stock.replan) the next
 * change that crosses the reorder point or drops available by a big sale's worth.
 */
async function recordPlan(productId: string, reorderPoint: number, available: number, forecast: readonly { value: number }[]) {
  await db.execute(sql`update product_forecasts set reorder_point = ${reorderPoint}, planned_available = ${available},
    planned_at = now() where product_id = ${productId}`)
  await setReplanLevel(productId, replanLevel(available, reorderPoint, bigSale(forecast)), available)
}

/**
 * One product's re-plan after a stock event (stock.low, stock.replan, stock.restocked): refits
 * its forecast first when available dropped by a big sale's worth since the last plan.
 */
export async function replanProduct(productId: string): Promise<{ result: Awaited<ReturnType<typeof suggestForProduct>>; refit: boolean }> {
  const [row] = await db.execute<{ planned_available: number | null; forecast: { value: number }[] }>(
    sql`select planned_available, forecast from product_forecasts where product_id = ${productId}`,
  )
  let refit = false
  if (row?.planned_available != null) {
    const inv = await getInventory(productId).catch((err) => {
      if (err instanceof NotFoundError) return null
      throw err
    })
    if (!inv) return { result: 'gone', refit }
    refit = row.planned_available - inv.available >= bigSale(row.forecast)
  }
  return { result: await suggestForProduct(productId, refit ? 0 : undefined), refit }
}

/** The scheduled sweep: every product, then overdue orders and supplier reliability. */
export async function refreshSuggestions(): Promise<{ products: number; suggested: number }> {
  let products = 0
  let suggested = 0
  for await (const ids of plannedProducts()) {
    for (const id of ids) if ((await suggestForProduct(id)) === 'suggested') suggested++
    products += ids.length
  }
  await sweepAlerts()
  return { products, suggested }
}

const RECENT_DAYS = 90

/** Overdue purchase orders; suppliers whose reliability is below 0.8 or fell by 0.1 over the last 90 days. */
export async function sweepAlerts(): Promise<void> {
  const open = await db.execute<{ id: string; expected_at: string; overdue: boolean }>(sql`
    select id, expected_at, expected_at < now() as overdue from purchase_orders
    where status in ('sent', 'partially_received')`)
  for (const po of open)
    await setAlert(
      'purchase_order_overdue',
      po.id,
      po.overdue ? { severity: 'warning', message: `purchase order expected ${new Date(po.expected_at).toISOString()} is overdue` } : null,
    )
  await clearAlertsExcept(
    'purchase_order_overdue',
    open.map((po) => po.id),
  )
  const sup = await db.execute<{ id: string }>(sql`select id from suppliers`)
  const ids = sup.map((s) => s.id)
  const all = await reliabilityOf(ids)
  const recent = await reliabilityOf(ids, db, RECENT_DAYS)
  for (const id of ids) {
    const r = all.get(id)?.reliability ?? null
    const now = recent.get(id)?.reliability ?? null
    let open: { severity: Severity; message: string } | null = null
    if (r !== null && r < 0.8) open = { severity: r < 0.6 ? 'critical' : 'warning', message: `supplier reliability ${r} is below 0.8` }
    else if (r !== null && now !== null && now < r - 0.1)
      open = { severity: 'warning', message: `supplier reliability falling: ${now} over the last ${RECENT_DAYS} days vs ${r} overall` }
    await setAlert('supplier_reliability', id, open)
  }
}

/** Opens (or updates) the alert of a subject in the alerts module's list, or resolves it. */
async function setAlert(
  kind: 'stockout_risk' | 'purchase_order_overdue' | 'supplier_reliability',
  subjectId: string,
  open: { severity: Severity; message: string } | null,
): Promise<void> {
  if (open) await raiseAlert(kind, subjectId, open.severity, open.message)
  else await clearAlert(kind, subjectId)
}

type SuggestionRow = typeof reorderSuggestions.$inferSelect
const iso = (d: Date) => d.toISOString()
const suggestionView = (s: SuggestionRow) => ({ ...s, createdAt: iso(s.createdAt), updatedAt: iso(s.updatedAt) })

export async function listSuggestions(status: 'open' | 'accepted' | 'dismissed' | 'all') {
  const rows = await db
    .select()
    .from(reorderSuggestions)
    .where(status === 'all' ? undefined : sql`${reorderSuggestions.status} = ${status}`)
    .orderBy(sql`${reorderSuggestions.id} desc`)
    .limit(500)
  return { items: rows.map(suggestionView) }
}

function refuse(s: SuggestionRow, action: string): never {
  throw new ConflictError(`This suggestion is ${s.status}; only an open one can be ${action}`, 'invalid_transition', {
    status: s.status,
    errors: [{ field: 'status', message: `is ${s.status}; ${action} needs open` }],
  })
}

/**
 * Adds the suggestion to the supplier's draft purchase order (one draft per supplier: accepting
 * several suggestions groups them), creating the draft when there is none.
 */
export function acceptSuggestion(id: string): Promise<{ purchaseOrderId: string }> {
  return db.transaction(async (tx) => {
    const [s] = await tx.select().from(reorderSuggestions).where(sql`${reorderSuggestions.id} = ${id}`).for('update')
    if (!s) throw new NotFoundError('Reorder suggestion')
    if (s.status !== 'open') refuse(s, 'accepted')
    // Two acceptances for one supplier at once must find the same draft.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`po-draft:${s.supplierId}`}))`)
    const [draft] = await tx.execute<{ id: string }>(
      sql`select id from purchase_orders where supplier_id = ${s.supplierId} and status = 'draft' order by id limit 1`,
    )
    let poId = draft?.id
    if (poId) {
      await tx.execute(sql`
        insert into purchase_order_lines (id, purchase_order_id, product_id, quantity, unit_cost_cents)
        select ${Bun.randomUUIDv7()}, ${poId}, ${s.productId}, ${s.quantity}, o.unit_cost_cents
        from supplier_offers o where o.supplier_id = ${s.supplierId} and o.product_id = ${s.productId}
        on conflict (purchase_order_id, product_id) do update set quantity = purchase_order_lines.quantity + excluded.quantity`)
    } else {
      poId = (await createPurchaseOrder({ supplierId: s.supplierId, lines: [{ productId: s.productId, quantity: s.quantity }] }, tx)).id
    }
    await tx.execute(
      sql`update reorder_suggestions set status = 'accepted', purchase_order_id = ${poId}, updated_at = now() where id = ${id}`,
    )
    return { purchaseOrderId: poId }
  })
}

export async function dismissSuggestion(id: string) {
  return db.transaction(async (tx) => {
    const [s] = await tx.select().from(reorderSuggestions).where(sql`${reorderSuggestions.id} = ${id}`).for('update')
    if (!s) throw new NotFoundError('Reorder suggestion')
    if (s.status !== 'open') refuse(s, 'dismissed')
    const [row] = await tx
      .update(reorderSuggestions)
      .set({ status: 'dismissed', updatedAt: new Date() })
      .where(sql`${reorderSuggestions.id} = ${id}`)
      .returning()
    return suggestionView(row as SuggestionRow)
  })
}
