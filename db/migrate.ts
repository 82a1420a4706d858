// Applies committed drizzle-kit migrations with a dedicated max:1 client. An advisory lock makes
// concurrent boots (several instances starting at once) apply them exactly once.
import { drizzle } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'

export const MIGRATIONS_DIR = `${import.meta.dir}/migrations`

export async function runMigrations(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} })
  try {
    await client`select pg_advisory_lock(hashtext('stampede:migrate'))`
    await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_DIR })
  } finally {
    await client`select pg_advisory_unlock(hashtext('stampede:migrate'))`.catch(() => {})
    await client.end({ timeout: 5 })
  }
}

if (import.meta.main) {
  const { config } = await import('../src/config')
  const { resolveInfra, stopEmbedded } = await import('../src/infra/embedded')
  await resolveInfra()
  await runMigrations(config.DATABASE_URL as string)
  console.log('migrations applied')
  await stopEmbedded()
}
