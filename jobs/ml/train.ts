// Trains one model from the live database and stores it in the registry as a new ACTIVE version
// (the previous one stays for rollback). Called by the `ml-training` queue's processor and by
// scripts; records every run in ml_training_runs (the training history).
import type { MlModelName } from '../../db/schema'
import { sql } from '../../src/infra/db'
import { logger } from '../../src/infra/logger'
import type { Artefact } from '../../src/modules/ml/artefacts'
import { saveVersion } from '../../src/modules/ml/registry'
import { trainBlend } from './blend'
import { loadDataset } from './dataset'
import { modelConfig } from './params'
import { fitAlsModel, fitContentModel, fitSegmentModel, rfmOf } from './pipeline'

export type TrainResult = { name: MlModelName; version: number; trainingMs: number; metrics: Record<string, unknown> }

/** Runs (or re-runs) training run `runId`; idempotent per run: a succeeded run is not trained again. */
export async function runTraining(runId: string, name: MlModelName): Promise<TrainResult | { skipped: true }> {
  const [claimed] = await sql<{ id: string }[]>`
    update ml_training_runs set status = 'running', started_at = now(), error = null
    where id = ${runId} and status in ('queued', 'running', 'failed') returning id`
  if (!claimed) return { skipped: true }
  try {
    const r = await trainModel(name)
    await sql`update ml_training_runs set status = 'succeeded', version = ${r.version}, finished_at = now() where id = ${runId}`
    return r
  } catch (err) {
    await sql`update ml_training_runs set status = 'failed', error = ${String((err as Error).message ?? err).slice(0, 2000)}, finished_at = now() where id = ${runId}`
    throw err
  }
}

export async function trainModel(name: MlModelName): Promise<TrainResult> {
  const t0 = performance.now()
  const cfg = await modelConfig(sql, name)
  const ds = await loadDataset(sql, cfg.windowDays)
  const loadedMs = performance.now() - t0
  let artefact: Artefact
  let metrics: Record<string, unknown>
  switch (name) {
    case 'als': {
      const f = fitAlsModel(ds, (await modelConfig(sql, 'als')).params)
      artefact = f.artefact
      metrics = { users: f.artefact.userIds.length, items: f.artefact.itemIds.length, interactions: f.interactions }
      break
    }
    case 'content': {
      const f = fitContentModel(ds, (await modelConfig(sql, 'content')).params)
      artefact = f.artefact
      metrics = { products: f.artefact.ids.length, terms: f.artefact.vectorizer.terms.length }
      break
    }
    case 'segment': {
      const f = fitSegmentModel(ds, (await modelConfig(sql, 'segment')).params)
      artefact = f.artefact
      metrics = { customers: f.rfm.size, k: f.artefact.k, silhouette: f.artefact.silhouette, tried: f.artefact.tried }
      break
    }
    case 'blend': {
      const [b, als, content, segment] = await Promise.all([
        modelConfig(sql, 'blend'),
        modelConfig(sql, 'als'),
        modelConfig(sql, 'content'),
        modelConfig(sql, 'segment'),
      ])
      const contentModel = fitContentModel(ds, content.params).model
      const f = trainBlend(ds, b.params, { als: als.params, content: content.params, segment: segment.params }, contentModel)
      artefact = f.artefact
      metrics = { ...f.metrics, weights: Object.fromEntries(f.artefact.features.map((n, j) => [n, f.artefact.weights[j]])) }
      break
    }
  }
  const trainingMs = Math.round(performance.now() - t0)
  metrics = { ...metrics, loadMs: Math.round(loadedMs), fitMs: Math.round(trainingMs - loadedMs), orders: ds.orders.length }
  const version = await saveVersion({
    name,
    params: cfg.params as Record<string, unknown>,
    metrics,
    trainingMs,
    windowFrom: new Date(ds.from),
    windowTo: new Date(ds.asOf),
    artefact,
    activate: true,
  })
  if (name === 'segment') await writeUserSegments(version, artefact as Extract<Artefact, { kind: 'segment' }>, ds)
  logger.info({ name, version, trainingMs }, 'ml: model trained')
  return { name, version, trainingMs, metrics }
}

/** user_segments = the SQL projection of the newest segment model (one row per customer). */
async function writeUserSegments(
  version: number,
  a: Extract<Artefact, { kind: 'segment' }>,
  ds: Awaited<ReturnType<typeof loadDataset>>,
): Promise<void> {
  const rfm = rfmOf(ds)
  const ids = Object.keys(a.assignment)
  await sql.begin(async (tx) => {
    await tx`delete from user_segments`
    for (let i = 0; i < ids.length; i += 10_000) {
      const chunk = ids.slice(i, i + 10_000)
      const r = chunk.map((u) => rfm.get(u) as { recencyDays: number; orders: number; monetaryCents: number })
      await tx`insert into user_segments (user_id, segment, model_version, recency_days, orders, monetary_cents)
        select u, s, ${version}, rd, o, m from unnest(${chunk}::uuid[], ${chunk.map((u) => a.assignment[u] as number)}::int2[],
          ${r.map((x) => x.recencyDays)}::float8[], ${r.map((x) => x.orders)}::int[], ${r.map((x) => x.monetaryCents)}::int8[]) as t(u, s, rd, o, m)
        where exists (select 1 from users where users.id = t.u)`
    }
  })
}
