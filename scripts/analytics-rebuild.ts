// `bun run analytics:rebuild`: rebuilds the analytics facts and rollups from orders/order_items now
// (what the scheduled `rebuild-rollups` job does) and prints the result, drift included. For a
// freshly seeded or restored database, whose orders never went through the outbox.
export {}

process.env.DATABASE_STATEMENT_TIMEOUT_MS ??= '0'
const { rebuildRollups } = await import('../src/modules/analytics/rollup')
const { closeDb } = await import('../src/infra/db')
try {
  const r = await rebuildRollups()
  // Visibility map and statistics, so the covering indexes serve index-only scans right away.
  const { sql } = await import('../src/infra/db')
  await sql`vacuum analyze analytics_order_facts, analytics_hourly, analytics_product_hourly, analytics_customers`
  console.log(JSON.stringify(r))
} finally {
  await closeDb()
}
