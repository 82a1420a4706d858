// `bun run inventory:check`: recomputes every product's counters from the movement ledger and from
// the reservations, reports each mismatch, and exits non-zero if there is any. Used by tests,
// benchmarks (after every sale) and operators.
//   on_hand  = Σ ledger.on_hand_delta
//   reserved = Σ ledger.reserved_delta = Σ quantity of active reservations
//   (+ Σ free units of sale pools: they stay reserved on the product until the sale gives them back)
// plus: every reservation has a matching reserve movement (and commit/release/expire when closed);
// per sale pool: held = Σ active and sold = Σ committed sale reservations, held + sold + returned ≤
// units; per customer and sale: counted units = Σ active and paid sale orders ≤ the sale's limit.
import type postgres from 'postgres'

export type Mismatch = { productId: string; check: string; expected: number; actual: number }
export type CheckReport = { products: number; reservations: number; pools: number; mismatches: Mismatch[] }

export async function checkInventory(sql: postgres.Sql): Promise<CheckReport> {
  const rows = await sql<
    {
      productId: string
      onHand: number
      reserved: number
      ledgerOnHand: number
      ledgerReserved: number
      activeReserved: number
      reservations: number
      reserveMoves: number
      closingMoves: number
      closed: number
    }[]
  >`
    with l as (
      select product_id, sum(on_hand_delta)::int as on_hand, sum(reserved_delta)::int as reserved,
        count(*) filter (where kind = 'reserve')::int as reserves,
        count(*) filter (where kind in ('commit', 'release', 'expire'))::int as closings
      from inventory_movements group by product_id
    ), pf as (
      select product_id, sum(units - held - sold - returned)::int as free from sale_pools group by product_id
    ), r as (
      select product_id, coalesce(sum(quantity) filter (where status = 'active'), 0)::int as active,
        count(*)::int as n, count(*) filter (where status <> 'active')::int as closed
      from reservations group by product_id
    )
    select i.product_id as "productId", i.on_hand as "onHand", i.reserved,
      coalesce(l.on_hand, 0) as "ledgerOnHand", coalesce(l.reserved, 0) as "ledgerReserved",
      coalesce(r.active, 0) + coalesce(pf.free, 0) as "activeReserved", coalesce(r.n, 0) as reservations,
      coalesce(l.reserves, 0) as "reserveMoves", coalesce(l.closings, 0) as "closingMoves", coalesce(r.closed, 0) as closed
    from inventory i left join l on l.product_id = i.product_id left join r on r.product_id = i.product_id
      left join pf on pf.product_id = i.product_id`
  const mismatches: Mismatch[] = []
  let reservations = 0
  const expect = (productId: string, check: string, expected: number, actual: number) => {
    if (expected !== actual) mismatches.push({ productId, check, expected, actual })
  }
  for (const r of rows) {
    reservations += r.reservations
    expect(r.productId, 'on_hand = Σ ledger on_hand_delta', r.ledgerOnHand, r.onHand)
    expect(r.productId, 'reserved = Σ ledger reserved_delta', r.ledgerReserved, r.reserved)
    // (active reservations include the free units of sale pools: they stay reserved on the product)
    expect(r.productId, 'reserved = Σ active reservations', r.activeReserved, r.reserved)
    expect(r.productId, 'one reserve movement per reservation', r.reservations, r.reserveMoves)
    expect(r.productId, 'one commit/release/expire movement per closed reservation', r.closed, r.closingMoves)
    // The CHECK constraints make these impossible; checked anyway so a dropped constraint shows up.
    if (r.reserved > r.onHand || r.reserved < 0 || r.onHand < 0) expect(r.productId, '0 ≤ reserved ≤ on_hand', 0, 1)
  }
  const orphans = await sql<{ productId: string; n: number }[]>`
    select product_id as "productId", count(*)::int as n from inventory_movements m
    where not exists (select 1 from inventory i where i.product_id = m.product_id) group by 1`
  for (const o of orphans) expect(o.productId, 'ledger rows of a product without inventory', 0, o.n)
  const pools = await checkSalePools(sql, expect)
  return { products: rows.length, reservations, pools, mismatches }
}

/** Sale pools (issue 21): counters against the reservations, and every buyer within the limit. */
async function checkSalePools(
  sql: postgres.Sql,
  expect: (id: string, check: string, expected: number, actual: number) => void,
): Promise<number> {
  const pools = await sql<
    { saleId: string; units: number; held: number; sold: number; returned: number; active: number; committed: number }[]
  >`
    select p.sale_id as "saleId", p.units, p.held, p.sold, p.returned,
      coalesce(sum(r.quantity) filter (where r.status = 'active'), 0)::int as active,
      coalesce(sum(r.quantity) filter (where r.status = 'committed'), 0)::int as committed
    from sale_pools p left join reservations r on r.sale_id = p.sale_id group by p.sale_id`
  for (const p of pools) {
    expect(p.saleId, 'sale pool: held = Σ active sale reservations', p.active, p.held)
    expect(p.saleId, 'sale pool: sold = Σ committed sale reservations', p.committed, p.sold)
    if (p.held + p.sold + p.returned > p.units)
      expect(p.saleId, 'sale pool: held + sold + returned ≤ units', p.units, p.held + p.sold + p.returned)
  }
  const buyers = await sql<{ saleId: string; userId: string; units: number; counted: number; limit: number }[]>`
    with o as (
      select o.sale_id, o.user_id, coalesce(sum(o.quantity) filter (where exists (
        select 1 from reservations r where r.order_id = o.order_id and r.status in ('active', 'committed'))), 0)::int as counted
      from sale_pool_orders o group by o.sale_id, o.user_id
    )
    select b.sale_id as "saleId", b.user_id as "userId", b.units, coalesce(o.counted, 0) as counted, s.per_customer_limit as limit
    from sale_pool_buyers b join sales s on s.id = b.sale_id
    left join o on o.sale_id = b.sale_id and o.user_id = b.user_id`
  for (const b of buyers) {
    expect(`${b.saleId}/${b.userId}`, 'sale buyer: units = Σ active and paid sale orders', b.counted, b.units)
    if (b.units > b.limit) expect(`${b.saleId}/${b.userId}`, 'sale buyer: units ≤ perCustomerLimit', b.limit, b.units)
  }
  return pools.length
}

if (import.meta.main) {
  const { config } = await import('../src/config')
  const { resolveInfra, stopEmbedded } = await import('../src/infra/embedded')
  await resolveInfra()
  const { default: postgresClient } = await import('postgres')
  const sql = postgresClient(config.DATABASE_URL as string, { max: 1, onnotice: () => {} })
  let code = 0
  try {
    const report = await checkInventory(sql)
    for (const m of report.mismatches) console.log(`MISMATCH ${m.productId}: ${m.check}: expected ${m.expected}, found ${m.actual}`)
    console.log(
      `inventory:check: ${report.products} products, ${report.reservations} reservations, ${report.pools} sale pools, ${report.mismatches.length} mismatches`,
    )
    code = report.mismatches.length ? 1 : 0
  } catch (err) {
    console.error(`inventory:check failed: ${(err as Error).message}`)
    code = 2
  } finally {
    await sql.end({ timeout: 5 })
    await stopEmbedded()
  }
  process.exit(code)
}
