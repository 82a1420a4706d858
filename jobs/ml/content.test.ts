import { describe, expect, test } from 'bun:test'
import { type ContentModel, contentNeighbours, contentNeighboursOfText, prepare } from '../../src/modules/recommendations/scorers'
import { fitContent, type ProductText } from './content'

const P = (id: string, name: string, categoryPath: string, description = ''): ProductText => ({
  id,
  name,
  description,
  brand: null,
  categoryPath,
})
const catalogue = [
  P('a', 'Trail running shoes', 'Sports > Running', 'Lightweight shoes for trail runs'),
  P('b', 'Road running shoes', 'Sports > Running', 'Cushioned shoes for road running'),
  P('c', 'Espresso machine', 'Kitchen > Coffee', 'Pump espresso maker with steam wand'),
  P('d', 'Coffee grinder', 'Kitchen > Coffee', 'Burr grinder for espresso and filter coffee'),
  P('e', 'Yoga mat', 'Sports > Yoga', 'Non-slip mat'),
]
const params = { neighbours: 3, maxDfRatio: 0.8, nameWeight: 3, categoryWeight: 2 }

describe('content model (TF-IDF + cosine)', () => {
  const m = prepare(fitContent(catalogue, params)) as ContentModel

  test("each product's nearest neighbour is the one about the same thing", () => {
    const nearest = Object.fromEntries(catalogue.map((p) => [p.id, contentNeighbours(m, p.id)[0]?.id]))
    expect(nearest).toEqual({ a: 'b', b: 'a', c: 'd', d: 'c', e: expect.stringMatching(/^[ab]$/) })
  })

  test('neighbours are sorted, bounded and never the product itself', () => {
    for (const p of catalogue) {
      const list = contentNeighbours(m, p.id)
      expect(list.length).toBeLessThanOrEqual(3)
      expect(list.some((x) => x.id === p.id)).toBe(false)
      for (let i = 1; i < list.length; i++)
        expect((list[i] as { score: number }).score).toBeLessThanOrEqual((list[i - 1] as { score: number }).score)
    }
  })

  test('a product unseen at training is matched from its own text', () => {
    expect(
      contentNeighboursOfText(m, 'Pour-over coffee kettle espresso', 'new', 2)
        .map((x) => x.id)
        .sort(),
    ).toEqual(['c', 'd'])
    expect(contentNeighboursOfText(m, 'zzz qqq', 'new', 2)).toEqual([])
  })
})
