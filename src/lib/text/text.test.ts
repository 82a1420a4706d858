import { describe, expect, test } from 'bun:test'
import { cosine, dot, normalize, sparseFromMap } from './sparse'
import { TfIdfVectorizer, Vocabulary } from './tfidf'
import { normalise, tokenize } from './tokenize'

describe('tokenize', () => {
  test('folds case and accents, splits on punctuation', () => {
    expect(normalise('Crème BRÛLÉE')).toBe('creme brulee')
    expect(tokenize('Crème-Brûlée, torch!', { stem: false })).toEqual(['creme', 'brulee', 'torch'])
  })

  test('drops English stop words and one-letter tokens', () => {
    expect(tokenize('The best of a phone is in the box', { stem: false })).toEqual(['best', 'phone', 'box'])
  })

  test('stems plurals and verb forms onto one term, leaves numbers alone', () => {
    expect(tokenize('running runs phones phone')).toEqual(['run', 'run', 'phone', 'phone'])
    expect(tokenize('USB-C 65W charger 2024')).toEqual(['usb', '65w', 'charger', '2024'])
  })

  test('options turn stemming and stop words off', () => {
    expect(tokenize('the phones', { stem: false, stopWords: false })).toEqual(['the', 'phones'])
  })
})

describe('sparse vectors', () => {
  const a = sparseFromMap(
    new Map([
      [3, 1],
      [0, 2],
    ]),
  )
  const b = sparseFromMap(
    new Map([
      [3, 4],
      [7, 1],
    ]),
  )

  test('indices sorted, dot is a merge', () => {
    expect([...a.indices]).toEqual([0, 3])
    expect(dot(a, b)).toBe(4)
  })

  test('cosine matches the dense formula and is 0 for an empty vector', () => {
    expect(cosine(a, b)).toBeCloseTo(4 / (Math.sqrt(5) * Math.sqrt(17)), 12)
    expect(cosine(a, sparseFromMap(new Map()))).toBe(0)
    expect(cosine(normalize(a), normalize(a))).toBeCloseTo(1, 12)
  })
})

describe('TfIdfVectorizer', () => {
  const corpus = [
    'Wireless bluetooth headphones with noise cancelling',
    'Bluetooth speaker, waterproof, wireless',
    'Organic green tea, loose leaf',
    'Green tea matcha powder, organic',
    'Noise cancelling over-ear headphones',
  ].map((s) => tokenize(s))

  test('rarer terms weigh more (idf), shared terms carry the similarity', () => {
    const v = TfIdfVectorizer.fit(corpus)
    const idf = (t: string) => v.idf[v.vocabulary.get(t) as number] as number
    expect(idf('matcha')).toBeGreaterThan(idf('tea'))
    expect(idf('tea')).toBeCloseTo(Math.log(6 / 3) + 1, 12)
  })

  test('nearest neighbour of each document is the one about the same thing', () => {
    const { vectors } = TfIdfVectorizer.fitTransform(corpus)
    const nearest = vectors.map((q, i) => {
      let best = -1
      let bestSim = -1
      vectors.forEach((d, j) => {
        const s = cosine(q, d)
        if (j !== i && s > bestSim) {
          best = j
          bestSim = s
        }
      })
      return best
    })
    // headphones ↔ headphones, tea ↔ tea; the speaker's nearest is the wireless headphones.
    expect(nearest).toEqual([4, 0, 3, 2, 0])
  })

  test('vectors are unit length; unknown terms ignored; empty text is the zero vector', () => {
    const v = TfIdfVectorizer.fit(corpus)
    const x = v.transform(tokenize('green tea from mars'))
    const len = Math.sqrt(x.values.reduce((s, y) => s + y * y, 0))
    expect(len).toBeCloseTo(1, 12)
    expect(x.indices.length).toBe(2)
    expect(v.transform([]).indices.length).toBe(0)
  })

  test('minDf / maxDfRatio prune the vocabulary', () => {
    const v = TfIdfVectorizer.fit(corpus, { minDf: 2, maxDfRatio: 0.5 })
    expect(v.vocabulary.terms).toEqual(['bluetooth', 'cancel', 'green', 'headphon', 'nois', 'organ', 'tea', 'wireless'])
  })

  test('toJSON / fromJSON round-trips to the same vectors', () => {
    const v = TfIdfVectorizer.fit(corpus)
    const w = TfIdfVectorizer.fromJSON(JSON.parse(JSON.stringify(v)))
    const doc = corpus[2] as string[]
    expect([...w.transform(doc).values]).toEqual([...v.transform(doc).values])
    expect(() => TfIdfVectorizer.fromJSON({ terms: ['a'], idf: [], sublinearTf: true })).toThrow()
  })

  test('Vocabulary assigns stable ids in insertion order', () => {
    const voc = new Vocabulary(['b', 'a'])
    expect(voc.add('a')).toBe(1)
    expect(voc.add('c')).toBe(2)
    expect(voc.size).toBe(3)
  })
})
