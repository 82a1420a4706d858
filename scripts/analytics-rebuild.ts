// `bun run analytics:rebuild`: rebuilds the analytics facts and rollups from orders/order_items now
// (what the scheduled `rebuild-rollups` job does) and prints the result, drift included. For a
// freshly seeded or restored database, whose orders never went through the outbox.
export {}

process.env.DATABASE_STATEMENT_TIMEOUT_MS ??= '0'
const { rebuildRollups } = await import('../src/modules/analytics/rollup')
const { closeDb } = await import('../src/infra/db')
try {
  console.log(JSON.stringify(await rebuildRollups()))
} finally {
  await closeDb()
}
