// What the index is built from: live products with their category path. A read-only projection
// (search is a reader of everything, GUIDE.md "Module dependencies"); the catalog stays the only
// writer. `since` returns the rows changed after an instant, deleted ones included, for fold-in.
import { sql } from 'drizzle-orm'
import { db } from '../../infra/db'
import type { ProductText } from './embedder'

export type SourceRow = ProductText & { id: string; updatedAt: string; deleted: boolean }

type Raw = {
  id: string
  name: string
  brand: string | null
  description: string
  category_path: string
  updated_at: string
  deleted: boolean
}

export async function productsForIndex(since?: Date, q: Pick<typeof db, 'execute'> = db): Promise<SourceRow[]> {
  const changed = since ? sql`p.updated_at > ${since.toISOString()}::timestamptz` : sql`p.deleted_at is null`
  const rows = (await q.execute<Raw>(sql`
    with recursive tree(id, path) as (
      select id, name from categories where parent_id is null
      union all
      select c.id, t.path || ' ' || c.name from categories c join tree t on c.parent_id = t.id)
    select p.id, p.name, p.brand, p.description, coalesce(t.path, '') as category_path,
      to_char(p.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as updated_at,
      p.deleted_at is not null as deleted
    from products p left join tree t on t.id = p.category_id
    where ${changed}
    order by p.id`)) as unknown as Raw[]
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    brand: r.brand,
    description: r.description,
    categoryPath: r.category_path,
    updatedAt: r.updated_at,
    deleted: r.deleted,
  }))
}
