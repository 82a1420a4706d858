// Planted search-quality data (issue 24): concept products whose names use one noun while shoppers
// search with a synonym or paraphrase that few of them mention ("couch" for sofas, "fridge" for
// refrigerators). Keyword search finds only the few that mention it; semantic search should find
// the rest through the concept's shared vocabulary. Also exact-match queries (a product's full
// name), where keyword search is already right and hybrid must not be worse.
import type postgres from 'postgres'
import { insertColumns } from './catalog'
import { mulberry32 } from './prng'

export type Concept = { key: string; noun: string; context: readonly string[]; synonyms: readonly string[] }

export const CONCEPTS: readonly Concept[] = [
  {
    key: 'sofa',
    noun: 'Sofa',
    context: ['upholstered', 'cushions', 'living room', 'seating', 'armrests'],
    synonyms: ['couch', 'settee', 'loveseat'],
  },
  {
    key: 'fridge',
    noun: 'Refrigerator',
    context: ['freezer', 'chilled', 'crisper drawer', 'frost free', 'groceries'],
    synonyms: ['fridge', 'icebox'],
  },
  {
    key: 'laptop',
    noun: 'Notebook Computer',
    context: ['processor', 'ssd', 'keyboard backlight', 'touchpad', 'ram'],
    synonyms: ['laptop', 'ultrabook'],
  },
  { key: 'tv', noun: 'Television', context: ['4k', 'hdr', 'streaming apps', 'screen', 'remote'], synonyms: ['telly', 'flatscreen'] },
  {
    key: 'phone',
    noun: 'Smartphone',
    context: ['dual sim', 'unlocked', 'touchscreen', '5g', 'selfie'],
    synonyms: ['cellphone', 'handset', 'mobile'],
  },
  {
    key: 'trousers',
    noun: 'Trousers',
    context: ['waistband', 'inseam', 'tailored', 'pleated', 'belt loops'],
    synonyms: ['pants', 'slacks', 'chinos'],
  },
  { key: 'sweater', noun: 'Sweater', context: ['knitted', 'wool', 'crewneck', 'cosy', 'ribbed cuffs'], synonyms: ['jumper', 'pullover'] },
  { key: 'perfume', noun: 'Perfume', context: ['fragrance', 'eau', 'scent', 'floral', 'musk'], synonyms: ['cologne', 'parfum'] },
  {
    key: 'diaper',
    noun: 'Diaper',
    context: ['absorbent', 'newborn', 'leakproof', 'wetness indicator', 'baby'],
    synonyms: ['nappy', 'nappies'],
  },
  { key: 'faucet', noun: 'Faucet', context: ['spout', 'plumbing', 'mixer', 'sink', 'cartridge'], synonyms: ['spigot', 'tap'] },
  { key: 'flashlight', noun: 'Flashlight', context: ['lumens', 'beam', 'rechargeable', 'handheld', 'zoomable'], synonyms: ['torch'] },
  {
    key: 'running',
    noun: 'Running Shoe',
    context: ['cushioned', 'midsole', 'stride', 'marathon', 'breathable mesh'],
    synonyms: ['trainers', 'joggers'],
  },
]

/** A share of concept products mention one synonym: that is what lets co-occurrence learn it. */
export const SYNONYM_RATE = 0.12

export type EvalQuery = { q: string; kind: 'synonym' | 'exact'; relevant: string[] }
export type PlantReport = { products: number; queries: EvalQuery[] }

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T
const BRANDS = ['Northwind', 'Contoso', 'Fabrikam', 'Tailspin', 'Adatum', 'Litware', 'Proseware', 'Wingtip']
const STYLES = ['Classic', 'Compact', 'Deluxe', 'Essential', 'Premium', 'Urban', 'Studio', 'Nordic']

function uuidLike(r: () => number, n: number): string {
  const ts = (Date.UTC(2026, 3, 1) + n).toString(16).padStart(12, '0')
  const hex = (len: number) => Array.from({ length: len }, () => Math.floor(r() * 16).toString(16)).join('')
  return `${ts.slice(0, 8)}-${ts.slice(8, 12)}-7${hex(3)}-${(8 + Math.floor(r() * 4)).toString(16)}${hex(3)}-${hex(12)}`
}

/**
 * Inserts `perConcept` products per concept (with stock) and returns the judged queries: each
 * synonym (relevant: every product of its concept) and `exact` full-name queries (relevant: that
 * product alone; chosen among planted products and `otherNames`).
 */
export async function plantSearchConcepts(
  sql: postgres.Sql | postgres.TransactionSql,
  o: { perConcept: number; seed: number; exact: number; now?: Date; concepts?: readonly Concept[] },
): Promise<PlantReport> {
  const r = mulberry32(o.seed)
  const now = (o.now ?? new Date()).getTime()
  const concepts = o.concepts ?? CONCEPTS
  const p = {
    id: [] as string[],
    name: [] as string[],
    description: [] as string[],
    brand: [] as string[],
    price: [] as number[],
    created: [] as string[],
  }
  const byConcept = new Map<string, string[]>()
  for (const c of concepts) {
    const ids: string[] = []
    for (let i = 0; i < o.perConcept; i++) {
      const brand = pick(r, BRANDS)
      const name = `${brand} ${pick(r, STYLES)} ${c.noun} ${String.fromCharCode(65 + Math.floor(r() * 26))}${String.fromCharCode(65 + Math.floor(r() * 26))}${1000 + Math.floor(r() * 9000)}`
      const ctx = [...c.context].sort(() => r() - 0.5).slice(0, 3)
      const synonym = r() < SYNONYM_RATE ? ` Also sold as a ${pick(r, c.synonyms)}.` : ''
      const id = uuidLike(r, p.id.length)
      p.id.push(id)
      p.name.push(name)
      p.description.push(`A ${c.noun.toLowerCase()} that is ${ctx.join(', ')}.${synonym}`)
      p.brand.push(brand)
      p.price.push((20 + Math.floor(r() * 500)) * 100 - 1)
      p.created.push(new Date(now - Math.floor(r() * 180 * 86400_000)).toISOString())
      ids.push(id)
    }
    byConcept.set(c.key, ids)
  }
  await insertColumns(sql, 'products', [
    ['id', 'uuid', p.id],
    ['name', 'text', p.name],
    ['description', 'text', p.description],
    ['brand', 'text', p.brand],
    ['price_cents', 'int', p.price],
    ['purchase_count', 'int', p.id.map(() => Math.floor(r() ** 4 * 500))],
    ['created_at', 'timestamptz', p.created],
    ['updated_at', 'timestamptz', p.created],
  ])
  const onHand = p.id.map(() => 1 + Math.floor(r() * 50))
  await insertColumns(sql, 'inventory', [
    ['product_id', 'uuid', p.id],
    ['on_hand', 'int', onHand],
  ])
  // Every unit enters through a 'restock' ledger row, so `inventory:check` agrees with the counters.
  await insertColumns(sql, 'inventory_movements', [
    ['id', 'uuid', p.id.map(() => Bun.randomUUIDv7())],
    ['product_id', 'uuid', p.id],
    ['kind', 'text', p.id.map(() => 'restock')],
    ['on_hand_delta', 'int', onHand],
    ['reserved_delta', 'int', p.id.map(() => 0)],
    ['reason', 'text', p.id.map(() => 'seed')],
  ])
  const queries: EvalQuery[] = []
  for (const c of concepts) for (const s of c.synonyms) queries.push({ q: s, kind: 'synonym', relevant: byConcept.get(c.key) as string[] })
  for (let i = 0; i < o.exact; i++) {
    const k = Math.floor(r() * p.id.length)
    queries.push({ q: p.name[k] as string, kind: 'exact', relevant: [p.id[k] as string] })
  }
  return { products: p.id.length, queries }
}
