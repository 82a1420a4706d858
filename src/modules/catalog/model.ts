// TypeBox schemas of the catalog API: the single source of truth for validation, types and OpenAPI.
import { t } from 'elysia'
import { INT4_MAX } from '../../lib/cursor'

const Uuid = t.String({ format: 'uuid' })
const Timestamp = t.String({ format: 'date-time' })

export const IdParams = t.Object({ id: Uuid })

export const Product = t.Object({
  id: Uuid,
  name: t.String(),
  description: t.String(),
  brand: t.Nullable(t.String()),
  priceCents: t.Integer(),
  currency: t.String(),
  categoryId: t.Nullable(Uuid),
  ratingAvg: t.Nullable(t.Number({ description: 'plain average of ratings (null without reviews)' })),
  ratingCount: t.Integer(),
  purchaseCount: t.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  available: t.Integer({ description: 'on hand − reserved' }),
})
export type Product = typeof Product.static

export const SEARCH_MODES = ['hybrid', 'keyword', 'semantic'] as const
export type SearchMode = (typeof SEARCH_MODES)[number]

export const ProductList = t.Object({
  items: t.Array(Product),
  nextCursor: t.Nullable(t.String()),
  searchMode: t.Optional(
    t.UnionEnum(SEARCH_MODES, { description: 'with q: the mode that actually served this page (also the x-search-mode header)' }),
  ),
  searchId: t.Optional(t.String({ format: 'uuid', description: 'with q: id of this search, for POST /search/clicks' })),
  degraded: t.Optional(t.Array(t.String(), { description: 'with q: fallbacks taken to serve it (empty when none)' })),
  highlighted: t.Optional(
    t.Array(t.String({ format: 'uuid' }), { description: 'with q: ids of the listed products that are in a live sale' }),
  ),
})

export const SORTS = ['relevance', 'rank', 'price_asc', 'price_desc', 'newest'] as const
export type Sort = (typeof SORTS)[number]

export const ProductQuery = t.Object({
  q: t.Optional(t.String({ maxLength: 200, description: 'full-text search (websearch syntax; last word is a prefix)' })),
  categoryId: t.Optional(Uuid),
  // products.price_cents is int4: a filter past it would fail in SQL, not filter.
  minPriceCents: t.Optional(t.Integer({ minimum: 0, maximum: INT4_MAX })),
  maxPriceCents: t.Optional(t.Integer({ minimum: 0, maximum: INT4_MAX })),
  inStock: t.Optional(t.Boolean()),
  sort: t.Optional(t.UnionEnum(SORTS, { description: 'default: relevance with q, rank otherwise' })),
  mode: t.Optional(
    t.UnionEnum(SEARCH_MODES, {
      description: 'with q and relevance order: hybrid (default; keyword + semantic fused, then ranked), keyword or semantic',
    }),
  ),
  limit: t.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: t.Optional(t.String({ maxLength: 500 })),
})
export type ProductQuery = typeof ProductQuery.static

const Name = t.String({ minLength: 1, maxLength: 200, pattern: '\\S' })
const Currency = t.String({ pattern: '^[A-Z]{3}$' })

export const ProductCreate = t.Object({
  name: Name,
  description: t.String({ maxLength: 10000, default: '' }),
  brand: t.Optional(t.Nullable(t.String({ maxLength: 100 }))),
  priceCents: t.Integer({ minimum: 0, maximum: 2_000_000_000 }),
  currency: t.Optional(Currency),
  categoryId: t.Optional(t.Nullable(Uuid)),
  initialStock: t.Optional(t.Integer({ minimum: 0, maximum: 1_000_000_000 })),
})
export type ProductCreate = typeof ProductCreate.static

export const ProductPatch = t.Partial(
  t.Object({
    name: Name,
    description: t.String({ maxLength: 10000 }),
    brand: t.Nullable(t.String({ maxLength: 100 })),
    priceCents: t.Integer({ minimum: 0, maximum: 2_000_000_000 }),
    currency: Currency,
    categoryId: t.Nullable(Uuid),
  }),
  { minProperties: 1 },
)
export type ProductPatch = typeof ProductPatch.static

export const Category = t.Object({
  id: Uuid,
  name: t.String(),
  slug: t.String(),
  parentId: t.Nullable(Uuid),
  depth: t.Integer({ description: '0 for a root category' }),
  path: t.Array(t.String(), { description: 'slugs from the root down to this category (its breadcrumb)' }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type Category = typeof Category.static

/** A category with its subcategories, nested (GET /categories?format=tree). */
export const CategoryNode = t.Recursive((Self) => t.Object({ ...Category.properties, children: t.Array(Self) }), { $id: 'CategoryNode' })
export type CategoryNode = typeof CategoryNode.static

export const CategoryListQuery = t.Object(
  {
    format: t.Optional(
      t.UnionEnum(['flat', 'tree'] as const, {
        description:
          '`flat` (default): every category once, depth-first (parents before children, siblings by name), with `parentId`, `depth` and `path`. `tree`: the roots, each with its `children`, nested.',
      }),
    ),
  },
  // The tree is answered whole: a partial tree is not a tree (`limit`/`cursor` are refused by the route).
  { additionalProperties: false },
)
// `format` tells the two apart: without it a nested item is also a valid flat item, and Elysia would
// answer through the first matching member, stripping `children`.
export const CategoryList = t.Union([
  t.Object({ format: t.Literal('flat'), items: t.Array(Category) }, { title: 'CategoryFlatList' }),
  t.Object({ format: t.Literal('tree'), items: t.Array(CategoryNode) }, { title: 'CategoryTree' }),
])

const Slug = t.String({ pattern: '^[a-z0-9]+(?:-[a-z0-9]+)*$', maxLength: 100 })
export const CategoryCreate = t.Object({ name: Name, slug: t.Optional(Slug), parentId: t.Optional(t.Nullable(Uuid)) })
export type CategoryCreate = typeof CategoryCreate.static
export const CategoryPatch = t.Partial(t.Object({ name: Name, slug: Slug, parentId: t.Nullable(Uuid) }), { minProperties: 1 })
export type CategoryPatch = typeof CategoryPatch.static

export const PageQuery = t.Object({
  limit: t.Integer({ minimum: 1, maximum: 100, default: 20 }),
  cursor: t.Optional(t.String({ maxLength: 500 })),
})
