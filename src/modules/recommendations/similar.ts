// GET /products/:id/similar: the active content model's neighbours (a product created after the
// training is matched from its own text), live and in stock; co-occurrence when no content model
// is usable (never a 5xx because a model is missing or corrupt).
import { NotFoundError } from '../../lib/errors'
import type { Product } from '../catalog/model'
import { getProductBody } from '../catalog/service'
import type { Artefact } from '../ml/artefacts'
import { activeModel } from '../ml/registry'
import { type ProductSummary, recommendableSummaries } from './products'
import { type ContentModel, contentNeighbours, contentNeighboursOfText, prepare } from './scorers'
import { alsoBought } from './service'

export async function similarProducts(
  productId: string,
  limit: number,
): Promise<{ strategy: 'content' | 'cooccurrence'; items: (ProductSummary & { score: number })[] }> {
  const body = await getProductBody(productId)
  if (!body) throw new NotFoundError('Product')
  const m = await activeModel('content', prepare as unknown as (a: Artefact) => ContentModel)
  if (!m) return { strategy: 'cooccurrence', items: await alsoBought(productId, limit) }
  let list = contentNeighbours(m.model, productId)
  if (list.length === 0 && !m.model.index.has(productId)) {
    const p = JSON.parse(body.json) as Product
    list = contentNeighboursOfText(m.model, `${p.name} ${p.name} ${p.brand ?? ''} ${p.description}`, productId, 60)
  }
  const scoreOf = new Map(list.map((x) => [x.id, x.score]))
  const live = await recommendableSummaries(list.filter((x) => x.id !== productId).map((x) => x.id))
  return {
    strategy: 'content',
    items: live.slice(0, limit).map((p) => ({ ...p, score: Math.round((scoreOf.get(p.id) ?? 0) * 1e6) / 1e6 })),
  }
}
