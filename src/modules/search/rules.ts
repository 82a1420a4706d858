// Admin merchandising rules (pins, boosts, demotions): replaced as a whole by PUT
// /admin/search/rules, read by the ranking stage (one indexed query per search and 5 s, under its budget).
import { asc, eq, isNull, or, sql } from 'drizzle-orm'
import { LRUCache } from 'lru-cache'
import { searchRules } from '../../../db/schema'
import { db } from '../../infra/db'
import { ValidationProblem } from '../../lib/errors'
import { isForeignKeyViolation } from '../../lib/pg-errors'
import type { Rule as RuleBody } from './model'
import type { Rule } from './ranking'

export const normalizeQuery = (q: string): string => q.trim().toLowerCase().replace(/\s+/g, ' ')

/**
 * Rules per query are kept RULES_TTL_MS in this process: under 50 concurrent searches the
 * per-search read was a pool wait each (bench:search). A PUT clears this process's copy; other
 * processes see a change within the TTL.
 */
export const RULES_TTL_MS = 5000
const cached = new LRUCache<string, Rule[]>({ max: 5000, ttl: RULES_TTL_MS })

/** The rules that apply to one search: its own and the global ones. */
export async function rulesFor(q: string): Promise<Rule[]> {
  const key = normalizeQuery(q)
  const hit = cached.get(key)
  if (hit) return hit
  const rows = await db
    .select({
      productId: searchRules.productId,
      action: searchRules.action,
      position: searchRules.position,
      weight: searchRules.weight,
      query: searchRules.query,
    })
    .from(searchRules)
    .where(or(eq(searchRules.query, key), isNull(searchRules.query)))
  cached.set(key, rows)
  return rows
}

export async function listRules() {
  const rows = await db.select().from(searchRules).orderBy(asc(searchRules.query), asc(searchRules.productId))
  return rows.map((r) => ({
    id: r.id,
    query: r.query,
    productId: r.productId,
    action: r.action,
    ...(r.position !== null ? { position: r.position } : {}),
    ...(r.weight !== null ? { weight: r.weight } : {}),
    createdAt: r.createdAt.toISOString(),
  }))
}

/** Replaces every rule in one transaction; a bad rule (shape, unknown product, duplicate) rejects them all. */
export async function replaceRules(rules: readonly RuleBody[]) {
  const seen = new Set<string>()
  rules.forEach((r, i) => {
    const at = `body.rules.${i}`
    if (r.action === 'pin' && (r.position === undefined || r.weight !== undefined))
      throw ValidationProblem.field(at, 'a pin takes a position and no weight')
    if (r.action !== 'pin' && (r.weight === undefined || r.position !== undefined))
      throw ValidationProblem.field(at, `${r.action} takes a weight and no position`)
    const k = `${r.query === null ? '' : normalizeQuery(r.query)}\u0000${r.productId}`
    if (seen.has(k)) throw ValidationProblem.field(at, 'a second rule for the same query and product')
    seen.add(k)
  })
  try {
    await db.transaction(async (tx) => {
      await tx.execute(sql`delete from search_rules`)
      if (rules.length === 0) return
      await tx.insert(searchRules).values(
        rules.map((r) => ({
          query: r.query === null ? null : normalizeQuery(r.query),
          productId: r.productId,
          action: r.action,
          position: r.position ?? null,
          weight: r.weight ?? null,
        })),
      )
    })
  } catch (err) {
    if (isForeignKeyViolation(err)) throw ValidationProblem.field('body.rules', 'names a product that does not exist')
    throw err
  }
  cached.clear()
  return listRules()
}
