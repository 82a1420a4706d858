// `bun run inventory:check`: recomputes every product's counters from the movement ledger and from
// the reservations, reports each mismatch, and exits non-zero if there is any. Used by tests,
// benchmarks (after every sale) and operators.
//   on_hand  = Σ ledger.on_hand_delta
//   reserved = Σ ledger.reserved_delta = Σ quantity of active reservations
// plus: every reservation has a matching reserve movement (and commit/release/expire when closed).
import type postgres from 'postgres'

export type Mismatch = { productId: string; check: string; expected: number; actual: number }
export type CheckReport = { products: number; reservations: number; mismatches: Mismatch[] }

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
    ), r as (
      select product_id, coalesce(sum(quantity) filter (where status = 'active'), 0)::int as active,
        count(*)::int as n, count(*) filter (where status <> 'active')::int as closed
      from reservations group by product_id
    )
    select i.product_id as "productId", i.on_hand as "onHand", i.reserved,
      coalesce(l.on_hand, 0) as "ledgerOnHand", coalesce(l.reserved, 0) as "ledgerReserved",
      coalesce(r.active, 0) as "activeReserved", coalesce(r.n, 0) as reservations,
      coalesce(l.reserves, 0) as "reserveMoves", coalesce(l.closings, 0) as "closingMoves", coalesce(r.closed, 0) as closed
    from inventory i left join l on l.product_id = i.product_id left join r on r.product_id = i.product_id`
  const mismatches: Mismatch[] = []
  let reservations = 0
  const expect = (productId: string, check: string, expected: number, actual: number) => {
    if (expected !== actual) mismatches.push({ productId, check, expected, actual })
  }
  for (const r of rows) {
    reservations += r.reservations
    expect(r.productId, 'on_hand = Σ ledger on_hand_delta', r.ledgerOnHand, r.onHand)
    expect(r.productId, 'reserved = Σ ledger reserved_delta', r.ledgerReserved, r.reserved)
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
  return { products: rows.length, reservations, mismatches }
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
    console.log(`inventory:check: ${report.products} products, ${report.reservations} reservations, ${report.mismatches.length} mismatches`)
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
