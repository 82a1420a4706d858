// Seed: a two-level category tree, products with a long-tailed price/rating spread, and their
// inventory (+ the matching 'restock' ledger rows, so scripts/inventory-check.ts agrees).
// NOTE: minimal version written on feat/recs; the catalog branch owns the full one (reviews,
// search fields). Keep the signature so db/seed.ts works with either.
import { insertChunked, rng } from './prng'

const ROOTS: [string, string[], string[]][] = [
  [
    'Electronics',
    ['Phones', 'Laptops', 'Audio', 'Cameras', 'Accessories', 'Wearables', 'Gaming', 'Networking'],
    ['Headphones', 'Charger', 'Cable', 'Speaker', 'Monitor', 'Keyboard', 'Mouse', 'Router', 'Tablet', 'Camera'],
  ],
  [
    'Home & Kitchen',
    ['Cookware', 'Bedding', 'Storage', 'Lighting', 'Decor', 'Appliances', 'Cleaning', 'Bath'],
    ['Pan', 'Pillow', 'Lamp', 'Kettle', 'Blender', 'Towel', 'Basket', 'Knife', 'Mug', 'Vacuum'],
  ],
  [
    'Books',
    ['Fiction', 'Science', 'History', 'Children', 'Cooking', 'Business', 'Comics', 'Travel'],
    ['Novel', 'Guide', 'Handbook', 'Atlas', 'Anthology', 'Cookbook', 'Primer', 'Memoir', 'Journal', 'Workbook'],
  ],
  [
    'Sports & Outdoors',
    ['Camping', 'Cycling', 'Fitness', 'Running', 'Swimming', 'Climbing', 'Fishing', 'Yoga'],
    ['Tent', 'Bottle', 'Mat', 'Helmet', 'Backpack', 'Rope', 'Goggles', 'Dumbbell', 'Jacket', 'Lantern'],
  ],
  [
    'Toys & Games',
    ['Puzzles', 'Board Games', 'Building', 'Dolls', 'Outdoor Play', 'Educational', 'Plush', 'Vehicles'],
    ['Puzzle', 'Blocks', 'Robot', 'Kite', 'Doll', 'Train', 'Card Game', 'Ball', 'Bear', 'Kit'],
  ],
  [
    'Beauty',
    ['Skincare', 'Haircare', 'Makeup', 'Fragrance', 'Nails', 'Tools', 'Men', 'Bath & Body'],
    ['Serum', 'Shampoo', 'Lipstick', 'Perfume', 'Brush', 'Cream', 'Mask', 'Polish', 'Razor', 'Lotion'],
  ],
  [
    'Garden',
    ['Plants', 'Tools', 'Watering', 'Furniture', 'Grills', 'Pest Control', 'Seeds', 'Lighting'],
    ['Shovel', 'Hose', 'Planter', 'Seeds', 'Grill', 'Chair', 'Gloves', 'Pruner', 'Sprinkler', 'Lantern'],
  ],
  [
    'Automotive',
    ['Care', 'Electronics', 'Tools', 'Interior', 'Exterior', 'Tyres', 'Oils', 'Safety'],
    ['Wax', 'Jack', 'Charger', 'Mat', 'Cover', 'Wiper', 'Oil', 'Tester', 'Jump Starter', 'Vacuum'],
  ],
  [
    'Grocery',
    ['Coffee', 'Tea', 'Snacks', 'Pantry', 'Breakfast', 'Beverages', 'Organic', 'Sweets'],
    ['Coffee', 'Tea', 'Granola', 'Pasta', 'Olive Oil', 'Chocolate', 'Honey', 'Nuts', 'Juice', 'Rice'],
  ],
  [
    'Clothing',
    ['Men', 'Women', 'Kids', 'Shoes', 'Bags', 'Jewelry', 'Watches', 'Sportswear'],
    ['Shirt', 'Jeans', 'Sneakers', 'Dress', 'Scarf', 'Belt', 'Watch', 'Hoodie', 'Socks', 'Hat'],
  ],
  [
    'Office',
    ['Paper', 'Writing', 'Desk', 'Filing', 'Printing', 'Furniture', 'Tech', 'Art'],
    ['Notebook', 'Pen', 'Stapler', 'Folder', 'Ink', 'Desk Lamp', 'Chair', 'Marker', 'Planner', 'Toner'],
  ],
  [
    'Pets',
    ['Dogs', 'Cats', 'Fish', 'Birds', 'Small Animals', 'Food', 'Toys', 'Health'],
    ['Leash', 'Bowl', 'Litter', 'Collar', 'Bed', 'Treats', 'Aquarium', 'Brush', 'Toy', 'Food'],
  ],
]
const ADJECTIVES = [
  'Classic',
  'Pro',
  'Eco',
  'Ultra',
  'Compact',
  'Deluxe',
  'Smart',
  'Essential',
  'Premium',
  'Lite',
  'Rugged',
  'Organic',
  'Modern',
  'Vintage',
  'Travel',
  'Max',
]
const BRANDS = ['Acme', 'Northwind', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Tyrell', 'Soylent', 'Hooli', 'Vandelay', 'Wonka']

/** `reviews`/`users` are the catalog branch's review options; this minimal version ignores them. */
export type SeedCatalogOptions = { products: number; categories: number; seed: number; now?: Date; reviews?: number; users?: number }
export type SeedCatalogResult = { categories: number; products: number }

const slugify = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')

// biome-ignore lint/suspicious/noExplicitAny: postgres.js Sql or TransactionSql
export async function seedCatalog(sql: any, opts: SeedCatalogOptions): Promise<SeedCatalogResult> {
  const r = rng(opts.seed, 'catalog')
  const now = (opts.now ?? new Date()).getTime()
  const day = 86_400_000
  const rootCount = Math.max(1, Math.min(ROOTS.length, opts.categories))
  const childCount = Math.max(0, opts.categories - rootCount)
  const created = new Date(now - 500 * day)

  const cats: { id: string; name: string; slug: string; parent_id: string | null; created_at: Date; updated_at: Date }[] = []
  const roots = ROOTS.slice(0, rootCount).map(([name]) => {
    const row = { id: r.uuidv7(created.getTime()), name, slug: slugify(name), parent_id: null, created_at: created, updated_at: created }
    cats.push(row)
    return row
  })
  // leaves[i] = [categoryId, rootIndex]
  const leaves: [string, number][] = childCount === 0 ? roots.map((c, i) => [c.id, i]) : []
  for (let i = 0; i < childCount; i++) {
    const ri = i % rootCount
    const [rootName, subs] = ROOTS[ri] as (typeof ROOTS)[number]
    const round = Math.floor(i / rootCount)
    const sub = subs[round % subs.length] as string
    const name = round < subs.length ? sub : `${sub} ${Math.floor(round / subs.length) + 1}`
    const row = {
      id: r.uuidv7(created.getTime()),
      name,
      slug: slugify(`${rootName}-${name}`),
      parent_id: (roots[ri] as { id: string }).id,
      created_at: created,
      updated_at: created,
    }
    cats.push(row)
    leaves.push([row.id, ri])
  }
  await insertChunked(sql, 'categories', cats)

  const products: Record<string, unknown>[] = []
  const stock: Record<string, unknown>[] = []
  const ledger: Record<string, unknown>[] = []
  for (let i = 0; i < opts.products; i++) {
    const [categoryId, ri] = r.pick(leaves)
    const nouns = (ROOTS[ri] as (typeof ROOTS)[number])[2]
    const createdAt = new Date(now - r.next() * 400 * day)
    const id = r.uuidv7(createdAt.getTime())
    // log-normal-ish prices between ~$2 and ~$2,000
    const priceCents = Math.round(200 * 1000 ** r.next()) + 99
    const ratingCount = r.chance(0.2) ? 0 : Math.floor(r.next() ** 3 * 400)
    const avg = 2.5 + r.next() * 2.5
    const brand = r.pick(BRANDS)
    products.push({
      id,
      name: `${brand} ${r.pick(ADJECTIVES)} ${r.pick(nouns)} ${r.int(100, 999)}`,
      description: `A ${r.pick(ADJECTIVES).toLowerCase()} pick for everyday use. Model ${i + 1}.`,
      brand,
      price_cents: priceCents,
      currency: 'USD',
      category_id: categoryId,
      rating_count: ratingCount,
      rating_sum: Math.min(5 * ratingCount, Math.max(ratingCount, Math.round(avg * ratingCount))),
      purchase_count: 0,
      created_at: createdAt,
      updated_at: createdAt,
      deleted_at: r.chance(0.01) ? new Date(now - r.next() * 10 * day) : null,
    })
    const onHand = r.chance(0.05) ? 0 : r.int(1, 500)
    stock.push({ product_id: id, on_hand: onHand, reserved: 0, version: 0, reorder_point: 10, updated_at: createdAt })
    if (onHand > 0)
      ledger.push({
        id: r.uuidv7(createdAt.getTime()),
        product_id: id,
        kind: 'restock',
        on_hand_delta: onHand,
        reserved_delta: 0,
        reason: 'seed',
        created_at: createdAt,
      })
  }
  await insertChunked(sql, 'products', products, 2000)
  await insertChunked(sql, 'inventory', stock)
  await insertChunked(sql, 'inventory_movements', ledger)
  return { categories: cats.length, products: products.length }
}
