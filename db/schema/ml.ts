// Machine-learned recommendations (issue 25): model configuration, the versioned model registry
// (artefacts stored here so every API instance loads the same bytes), training history, the lists
// we served and what users did with them (measured CTR), and customer segments. All rows are
// derived data of the ml/recommendations modules; no foreign keys to products on purpose (a
// deleted product must not be blocked by, or cascade through, a model or a metric).
import { sql } from 'drizzle-orm'
import {
  bigint,
  check,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'
import { users } from './users'

const bytea = customType<{ data: Uint8Array }>({ dataType: () => 'bytea' })

export const ML_MODEL_NAMES = ['als', 'content', 'segment', 'blend'] as const
export type MlModelName = (typeof ML_MODEL_NAMES)[number]
const modelNames = sql.raw(ML_MODEL_NAMES.map((n) => `'${n}'`).join(', '))

/** One row per model: the parameters the next training uses (seeded by the migration). */
export const mlModelConfig = pgTable(
  'ml_model_config',
  {
    name: text().primaryKey(),
    params: jsonb().notNull().$type<Record<string, unknown>>().default({}),
    /** trainings older than this many days of data are not used (the data window) */
    windowDays: integer().notNull().default(365),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('ml_model_config_name_check', sql`${t.name} in (${modelNames})`),
    check('ml_model_config_window_check', sql`${t.windowDays} > 0`),
  ],
)

export const ML_MODEL_STATUSES = ['active', 'inactive', 'failed'] as const

/** The registry: every trained version with its artefact; at most ONE active version per name. */
export const mlModels = pgTable(
  'ml_models',
  {
    name: text().notNull(),
    version: integer().notNull(),
    status: text({ enum: ML_MODEL_STATUSES }).notNull().default('inactive'),
    params: jsonb().notNull().$type<Record<string, unknown>>(),
    metrics: jsonb().notNull().$type<Record<string, unknown>>(),
    trainedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    trainingMs: integer().notNull(),
    windowFrom: timestamp({ withTimezone: true }),
    windowTo: timestamp({ withTimezone: true }),
    /** sha256 hex of `artefact`: a load that does not match falls back to the previous version */
    checksum: text().notNull(),
    /** gzip(JSON) of the fitted model */
    artefact: bytea().notNull(),
    sizeBytes: integer().notNull(),
    activatedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.name, t.version] }),
    uniqueIndex('ml_models_one_active_idx').on(t.name).where(sql`${t.status} = 'active'`),
    check('ml_models_name_check', sql`${t.name} in (${modelNames})`),
    check('ml_models_status_check', sql`${t.status} in ('active', 'inactive', 'failed')`),
    check('ml_models_version_check', sql`${t.version} > 0`),
  ],
)

export const TRAINING_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const

/** Training history: one row per requested/scheduled training (the job's idempotency key is its id). */
export const mlTrainingRuns = pgTable(
  'ml_training_runs',
  {
    id: uuid().primaryKey(),
    name: text().notNull(),
    status: text({ enum: TRAINING_STATUSES }).notNull().default('queued'),
    trigger: text({ enum: ['api', 'schedule', 'script'] }).notNull(),
    requestedBy: uuid().references(() => users.id, { onDelete: 'set null' }),
    version: integer(),
    error: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    startedAt: timestamp({ withTimezone: true }),
    finishedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    index('ml_training_runs_name_idx').on(t.name, t.createdAt),
    check('ml_training_runs_name_check', sql`${t.name} in (${modelNames})`),
    check('ml_training_runs_status_check', sql`${t.status} in ('queued', 'running', 'succeeded', 'failed')`),
  ],
)

/** Every recommendation list served: what events are attributed to (recommendation_id). */
export const recommendationLists = pgTable(
  'recommendation_lists',
  {
    id: uuid().primaryKey(),
    userId: uuid().notNull(),
    /** the strategy that produced the list (auto resolves to one) */
    strategy: text().notNull(),
    /** the experiment arm the user was assigned to ('' outside an experiment) */
    arm: text().notNull().default(''),
    productIds: uuid().array().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('recommendation_lists_created_idx').on(t.createdAt), index('recommendation_lists_user_idx').on(t.userId, t.createdAt)],
)

export const RECOMMENDATION_EVENT_TYPES = ['impression', 'click', 'add_to_cart', 'purchase'] as const

/**
 * What users did with a served list. One row per (list, product, type): a repeated click counts
 * once, so CTR = distinct clicked items / distinct impressed items and a retrying client cannot
 * inflate it.
 */
export const recommendationEvents = pgTable(
  'recommendation_events',
  {
    recommendationId: uuid()
      .notNull()
      .references(() => recommendationLists.id, { onDelete: 'cascade' }),
    productId: uuid().notNull(),
    type: text({ enum: RECOMMENDATION_EVENT_TYPES }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.recommendationId, t.productId, t.type] }),
    index('recommendation_events_created_idx').on(t.createdAt),
    check('recommendation_events_type_check', sql`${t.type} in ('impression', 'click', 'add_to_cart', 'purchase')`),
  ],
)

/** The active segment model's assignment of each customer, with the RFM features it used. */
export const userSegments = pgTable(
  'user_segments',
  {
    userId: uuid()
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    segment: smallint().notNull(),
    modelVersion: integer().notNull(),
    recencyDays: doublePrecision().notNull(),
    orders: integer().notNull(),
    monetaryCents: bigint({ mode: 'number' }).notNull(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('user_segments_segment_idx').on(t.modelVersion, t.segment), check('user_segments_segment_check', sql`${t.segment} >= 0`)],
)
