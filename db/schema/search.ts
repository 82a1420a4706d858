// Search (issue 24): versioned semantic-index artefacts, admin ranking rules and click analytics.
// The artefacts are derived data, rebuilt by the `search` queue's `build-index` job from products;
// the API only loads them (training code never runs in the API process).
import { sql } from 'drizzle-orm'
import { check, customType, index, integer, pgTable, real, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { products, searchQueries } from './catalog'

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' })

export const SEARCH_RULE_ACTIONS = ['pin', 'boost', 'demote'] as const
export type SearchRuleAction = (typeof SEARCH_RULE_ACTIONS)[number]

/**
 * One built index. `checksum` is the sha256 of model ‖ ids ‖ vectors ‖ ann as stored: a loader that
 * computes anything else refuses the version (corrupt) and serves keyword-only.
 */
export const searchIndexVersions = pgTable(
  'search_index_versions',
  {
    version: integer().primaryKey().generatedAlwaysAsIdentity(),
    /** 'svd' (TF-IDF + truncated SVD learned from the catalog) or 'onnx' (EMBEDDING_MODEL_DIR). */
    provider: text().notNull(),
    dims: integer().notNull(),
    docCount: integer().notNull(),
    checksum: text().notNull(),
    /** gzip'd JSON: the provider's parameters (vocabulary, idf, projection). */
    model: bytea().notNull(),
    /** docCount UUIDs, 16 bytes each, in vector order. */
    ids: bytea().notNull(),
    /** docCount × dims float32, L2-normalised rows. */
    vectors: bytea().notNull(),
    /** a serialised usearch HNSW graph over the vectors (null: small catalogs use an exact scan). */
    ann: bytea(),
    buildMs: integer().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('search_index_versions_dims_check', sql`${t.dims} between 1 and 4096`),
    check('search_index_versions_doc_count_check', sql`${t.docCount} >= 0`),
    check('search_index_versions_provider_check', sql`${t.provider} in ('svd', 'onnx')`),
  ],
)

/**
 * Admin merchandising rules, replaced as a whole by PUT /admin/search/rules. `query` null = every
 * search; otherwise the normalised (trimmed, lower-case) query it applies to.
 */
export const searchRules = pgTable(
  'search_rules',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    query: text(),
    productId: uuid()
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    action: text({ enum: SEARCH_RULE_ACTIONS }).notNull(),
    /** pin: 1-based position on the first page. */
    position: integer(),
    /** boost / demote: added to / subtracted from the ranking score (which lies in [0, 1]). */
    weight: real(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('search_rules_query_product_key').on(sql`coalesce(${t.query}, '')`, t.productId),
    index('search_rules_query_idx').on(t.query),
    check('search_rules_action_check', sql`${t.action} in ('pin', 'boost', 'demote')`),
    check(
      'search_rules_shape_check',
      sql`(${t.action} = 'pin' and ${t.position} between 1 and 100 and ${t.weight} is null)
        or (${t.action} <> 'pin' and ${t.position} is null and ${t.weight} > 0 and ${t.weight} <= 10)`,
    ),
  ],
)

/** A click on a search result; `searchId` is the search_queries row the results came from. */
export const searchClicks = pgTable(
  'search_clicks',
  {
    id: uuid()
      .primaryKey()
      .$defaultFn(() => Bun.randomUUIDv7()),
    searchId: uuid()
      .notNull()
      .references(() => searchQueries.id, { onDelete: 'cascade' }),
    productId: uuid()
      .notNull()
      .references(() => products.id, { onDelete: 'cascade' }),
    position: integer().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('search_clicks_search_idx').on(t.searchId), check('search_clicks_position_check', sql`${t.position} between 1 and 1000`)],
)
