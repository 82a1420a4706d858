// Model registry: versions in ml_models (artefact + sha256), at most one active per name (a
// partial unique index). API processes load the active version ONCE and keep it in memory; an
// activation is announced over Redis pub/sub (and re-checked every ML_MODEL_CHECK_MS as the
// safety net for a lost message), and the swap is one assignment after the new model is fully
// prepared, so a request sees the old or the new model, never half of one. A corrupt or missing
// artefact falls back to the newest older version that loads, else to what is already in memory,
// else to null (callers then serve co-occurrence): never a 5xx.
import type Redis from 'ioredis'
import type { MlModelName } from '../../../db/schema'
import { config } from '../../config'
import { sql } from '../../infra/db'
import { logger } from '../../infra/logger'
import { counter } from '../../infra/metrics'
import { createRedis, key, redisUrl, withRedis } from '../../infra/redis'
import { ConflictError, NotFoundError } from '../../lib/errors'
import { type Artefact, checksum, decodeArtefact, encodeArtefact } from './artefacts'

const loads = counter('ml_model_loads_total', 'Model artefact loads by the API', ['name', 'result'])

export type ModelRow = {
  name: string
  version: number
  status: 'active' | 'inactive' | 'failed'
  params: Record<string, unknown>
  metrics: Record<string, unknown>
  trainedAt: string
  trainingMs: number
  windowFrom: string | null
  windowTo: string | null
  checksum: string
  sizeBytes: number
  activatedAt: string | null
}

export type NewVersion = {
  name: MlModelName
  params: Record<string, unknown>
  metrics: Record<string, unknown>
  trainingMs: number
  windowFrom: Date | null
  windowTo: Date | null
  artefact: Artefact
  activate: boolean
}

const channel = () => key('ml', 'activated')

/** Stores a trained version (next number for its name) and optionally activates it. */
export async function saveVersion(v: NewVersion): Promise<number> {
  const bytes = encodeArtefact(v.artefact)
  const version = await sql.begin(async (tx) => {
    // Serialise version numbering per name (two trainings finishing together).
    await tx`select pg_advisory_xact_lock(hashtext(${`ml:${v.name}`}))`
    const [row] = await tx<{ version: number }[]>`
      insert into ml_models (name, version, status, params, metrics, training_ms, window_from, window_to, checksum, artefact, size_bytes)
      select ${v.name}, coalesce(max(version), 0) + 1, 'inactive', ${JSON.stringify(v.params)}::jsonb, ${JSON.stringify(v.metrics)}::jsonb,
        ${Math.round(v.trainingMs)}, ${v.windowFrom?.toISOString() ?? null}, ${v.windowTo?.toISOString() ?? null},
        ${checksum(bytes)}, ${bytes}, ${bytes.byteLength}
      from ml_models where name = ${v.name}
      returning version`
    const version = (row as { version: number }).version
    if (v.activate) await activateIn(tx, v.name, version)
    return version
  })
  if (v.activate) await announce(v.name)
  return version
}

// biome-ignore lint/suspicious/noExplicitAny: postgres.js TransactionSql
async function activateIn(tx: any, name: string, version: number): Promise<void> {
  await tx`update ml_models set status = 'inactive' where name = ${name} and status = 'active' and version <> ${version}`
  const rows = await tx`update ml_models set status = 'active', activated_at = now()
    where name = ${name} and version = ${version} and status <> 'failed' returning version`
  if (rows.length === 0) {
    const [exists] = await tx`select status from ml_models where name = ${name} and version = ${version}`
    if (!exists) throw new NotFoundError('Model version')
    throw new ConflictError(`version ${version} of ${name} failed to load and cannot be activated`, 'model_failed')
  }
}

/** Makes `version` the active one (also the rollback) and tells every API process. */
export async function activate(name: MlModelName, version: number): Promise<ModelRow> {
  await sql.begin((tx) => activateIn(tx, name, version))
  await announce(name)
  return (await listModels(name)).find((m) => m.version === version) as ModelRow
}

async function announce(name: string): Promise<void> {
  await withRedis(
    (r) => r.publish(channel(), name),
    () => 0,
  )
}

export async function listModels(name?: string): Promise<ModelRow[]> {
  return sql<ModelRow[]>`
    select name, version, status, params, metrics, trained_at as "trainedAt", training_ms as "trainingMs",
      window_from as "windowFrom", window_to as "windowTo", checksum, size_bytes as "sizeBytes", activated_at as "activatedAt"
    from ml_models ${name ? sql`where name = ${name}` : sql``} order by name, version desc`
}

// ---- loading (API side) ----

export type Loaded<T> = { name: string; version: number; model: T }
type Slot = { current: Loaded<unknown> | null; checkedAt: number; loading: Promise<void> | null; prepare: (a: Artefact) => unknown }

const slots = new Map<string, Slot>()
let subscriber: Redis | null = null

function subscribe(): void {
  if (subscriber || !redisUrl()) return
  subscriber = createRedis('subscriber')
  subscriber.on('message', (ch: string, name: string) => {
    if (ch !== channel()) return
    const slot = slots.get(name)
    if (slot) slot.checkedAt = 0
  })
  subscriber.subscribe(channel()).catch((err) => logger.warn({ err }, 'ml: subscribe failed; relying on the periodic check'))
}

/**
 * The active version of `name`, prepared by `prepare` (decoding factors etc. once per version).
 * Null when no version loads: the caller falls back.
 */
export async function activeModel<T>(name: MlModelName, prepare: (a: Artefact) => T): Promise<Loaded<T> | null> {
  subscribe()
  let slot = slots.get(name)
  if (!slot) {
    slot = { current: null, checkedAt: 0, loading: null, prepare: prepare as (a: Artefact) => unknown }
    slots.set(name, slot)
  }
  if (Date.now() - slot.checkedAt >= config.ML_MODEL_CHECK_MS || !slot.current) {
    slot.loading ??= refresh(name, slot).finally(() => {
      ;(slot as Slot).loading = null
    })
    // A process that already serves a model keeps serving it while the new one loads.
    if (!slot.current) await slot.loading
  }
  return slot.current as Loaded<T> | null
}

async function refresh(name: string, slot: Slot): Promise<void> {
  slot.checkedAt = Date.now()
  try {
    const [active] = await sql<{ version: number }[]>`select version from ml_models where name = ${name} and status = 'active'`
    if (!active) {
      slot.current = null
      return
    }
    if (slot.current?.version === active.version) return
    // The active version first, then older ones, newest first: the fallback on a bad artefact.
    const candidates = await sql<{ version: number }[]>`
      select version from ml_models where name = ${name} and version <= ${active.version} and status <> 'failed'
      order by version desc limit 5`
    for (const { version } of candidates) {
      if (slot.current?.version === version) return
      const model = await loadVersion(name, version, slot.prepare)
      if (model !== undefined) {
        slot.current = { name, version, model }
        return
      }
    }
  } catch (err) {
    loads.inc({ name, result: 'error' })
    logger.warn({ err, name }, 'ml: checking the active model failed; keeping the loaded one')
  }
}

async function loadVersion(name: string, version: number, prepare: (a: Artefact) => unknown): Promise<unknown> {
  const [row] = await sql<{ artefact: Uint8Array; checksum: string }[]>`
    select artefact, checksum from ml_models where name = ${name} and version = ${version}`
  try {
    if (!row) throw new Error('missing')
    if (checksum(row.artefact) !== row.checksum) throw new Error('checksum mismatch')
    const a = decodeArtefact(row.artefact)
    if (a.kind !== name) throw new Error(`artefact kind ${a.kind}`)
    const model = prepare(a)
    loads.inc({ name, result: 'loaded' })
    logger.info({ name, version }, 'ml: model loaded')
    return model
  } catch (err) {
    loads.inc({ name, result: 'corrupt' })
    logger.error({ err, name, version }, 'ml: artefact does not load; falling back to an older version')
    return undefined
  }
}

/** Drops loaded models (tests; shutdown). */
export async function closeRegistry(): Promise<void> {
  slots.clear()
  const s = subscriber
  subscriber = null
  if (s) await s.quit().catch(() => s.disconnect())
}
