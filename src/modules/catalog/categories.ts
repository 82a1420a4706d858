// Category tree. Invariant: parent links never form a cycle. One guard (assertNoCycle) runs inside a
// transaction holding a tree-wide advisory lock, so two concurrent moves (A under B, B under A)
// cannot each pass the check; the CHECK constraint covers the one-step cycle at the database too.
import { eq, sql } from 'drizzle-orm'
import { categories, products } from '../../../db/schema'
import { type DbOrTx, db } from '../../infra/db'
import { ConflictError, NotFoundError, ValidationProblem } from '../../lib/errors'
import { isUniqueViolation } from '../../lib/pg-errors'
import { invalidateListings } from './cache'
import type { Category, CategoryCreate, CategoryNode, CategoryPatch } from './model'

const TREE_LOCK = sql`select pg_advisory_xact_lock(hashtext('stampede:category-tree'))`

export function slugify(name: string): string {
  return (
    name
      .normalize('NFKD')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 80) || 'category'
  )
}

type CategoryRow = {
  id: string
  name: string
  slug: string
  parent_id: string | null
  depth: number
  path: string[]
  created_at: Date
  updated_at: Date
}

const toCategory = (r: CategoryRow): Category => ({
  id: r.id,
  name: r.name,
  slug: r.slug,
  parentId: r.parent_id,
  depth: Number(r.depth),
  path: r.path,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
})

/** The whole tree, depth-first (parents before children, siblings by name). */
export async function listCategories(): Promise<Category[]> {
  const rows = await db.execute<CategoryRow>(sql`
    with recursive tree as (
      select c.*, 0 as depth, array[lower(c.name), c.id::text] as sort_key, array[c.slug] as path
      from categories c where c.parent_id is null
      union all
      select c.*, t.depth + 1, t.sort_key || array[lower(c.name), c.id::text], t.path || c.slug
      from categories c join tree t on c.parent_id = t.id
    )
    select id, name, slug, parent_id, depth, path, created_at, updated_at from tree order by sort_key`)
  return (rows as unknown as CategoryRow[]).map(toCategory)
}

/** Nests a depth-first list (parents before children) as roots with `children`, keeping the order. */
export function categoryTree(flat: Category[]): CategoryNode[] {
  const nodes = new Map<string, CategoryNode>()
  const roots: CategoryNode[] = []
  for (const c of flat) {
    const node: CategoryNode = { ...c, children: [] }
    nodes.set(c.id, node)
    const parent = c.parentId ? nodes.get(c.parentId) : undefined
    ;(parent ? parent.children : roots).push(node)
  }
  return roots
}

async function getCategory(tx: DbOrTx, id: string): Promise<Category> {
  const rows = (await tx.execute<CategoryRow>(sql`
    with recursive up as (
      select id, parent_id, 0 as n from categories where id = ${id}
      union all select c.id, c.parent_id, up.n + 1 from categories c join up on c.id = up.parent_id
    )
    select c.id, c.name, c.slug, c.parent_id, (select max(n) from up) as depth,
      (select array_agg(a.slug order by up.n desc) from up join categories a on a.id = up.id) as path, c.created_at, c.updated_at
    from categories c where c.id = ${id}`)) as unknown as CategoryRow[]
  if (!rows[0]) throw new NotFoundError('Category')
  return toCategory(rows[0])
}

async function assertParentExists(tx: DbOrTx, parentId: string): Promise<void> {
  const [p] = await tx.select({ id: categories.id }).from(categories).where(eq(categories.id, parentId))
  if (!p) throw ValidationProblem.field('parentId', 'no such category')
}

/** The guard: `parentId` must not be `id` itself or one of its descendants. */
async function assertNoCycle(tx: DbOrTx, id: string, parentId: string): Promise<void> {
  if (parentId === id) throw new ConflictError('A category cannot be its own parent', 'category_cycle', { field: 'parentId' })
  const rows = await tx.execute(sql`
    with recursive down(id) as (select ${id}::uuid union all select c.id from categories c join down on c.parent_id = down.id)
    select 1 from down where id = ${parentId} limit 1`)
  if (rows.length > 0) {
    throw new ConflictError('The new parent is a descendant of this category; that would make a cycle', 'category_cycle', {
      field: 'parentId',
    })
  }
}

function uniqueSlug<T>(p: Promise<T>, slug: string): Promise<T> {
  return p.catch((err) => {
    if (isUniqueViolation(err)) {
      throw new ConflictError(`Slug '${slug}' is taken`, 'slug_taken', { field: 'slug' })
    }
    throw err
  })
}

export async function createCategory(input: CategoryCreate): Promise<Category> {
  const slug = input.slug ?? slugify(input.name)
  return uniqueSlug(
    db.transaction(async (tx) => {
      await tx.execute(TREE_LOCK)
      if (input.parentId) await assertParentExists(tx, input.parentId)
      const id = Bun.randomUUIDv7()
      await tx.insert(categories).values({ id, name: input.name.trim(), slug, parentId: input.parentId ?? null })
      return getCategory(tx, id)
    }),
    slug,
  )
}

export async function updateCategory(id: string, patch: CategoryPatch): Promise<Category> {
  const updated = await uniqueSlug(
    db.transaction(async (tx) => {
      await tx.execute(TREE_LOCK)
      const [current] = await tx.select().from(categories).where(eq(categories.id, id)).for('update')
      if (!current) throw new NotFoundError('Category')
      if (patch.parentId) {
        await assertParentExists(tx, patch.parentId)
        await assertNoCycle(tx, id, patch.parentId)
      }
      const name = patch.name?.trim()
      await tx
        .update(categories)
        .set({
          ...(name !== undefined ? { name } : {}),
          ...(patch.slug !== undefined ? { slug: patch.slug } : {}),
          ...(patch.parentId !== undefined ? { parentId: patch.parentId } : {}),
          updatedAt: new Date(),
        })
        .where(eq(categories.id, id))
      // Keep the denormalised search column in step (the product JSON does not carry the name,
      // so no product cache entry changes).
      if (name !== undefined && name !== current.name) {
        await tx.update(products).set({ categoryName: name }).where(eq(products.categoryId, id))
      }
      return getCategory(tx, id)
    }),
    patch.slug ?? '',
  )
  // A move changes which products a category filter (with descendants) returns; a rename changes search.
  await invalidateListings()
  return updated
}

export async function deleteCategory(id: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(TREE_LOCK)
    const [c] = await tx.select({ id: categories.id }).from(categories).where(eq(categories.id, id))
    if (!c) throw new NotFoundError('Category')
    const [child] = await tx.select({ id: categories.id }).from(categories).where(eq(categories.parentId, id)).limit(1)
    if (child) throw new ConflictError('Category has subcategories; move or delete them first', 'category_not_empty')
    // Soft-deleted products keep their category reference; the FK (restrict) blocks any product row.
    const [p] = await tx.select({ id: products.id }).from(products).where(eq(products.categoryId, id)).limit(1)
    if (p) throw new ConflictError('Category still has products; move them first', 'category_not_empty')
    await tx.delete(categories).where(eq(categories.id, id))
  })
}
