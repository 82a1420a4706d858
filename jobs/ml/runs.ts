// A training-run row for trainings that do not come through the API (schedule, scripts).
import type { MlModelName } from '../../db/schema'
import { sql } from '../../src/infra/db'

export async function requestTrainingRun(name: MlModelName, trigger: 'schedule' | 'script'): Promise<string> {
  const id = Bun.randomUUIDv7()
  await sql`insert into ml_training_runs (id, name, trigger) values (${id}, ${name}, ${trigger})`
  return id
}
