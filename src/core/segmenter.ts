// Intl.Segmenter loads ICU's break rules when one is made (~5 ms for the first, more for words
// and sentences): made when first used, and once per granularity, so a command that segments
// nothing (crier list, the queue thread) never pays for it.

export type Granularity = 'grapheme' | 'word' | 'sentence'

const made = new Map<Granularity, Intl.Segmenter>()

export function segmenter(granularity: Granularity): Intl.Segmenter {
  let found = made.get(granularity)
  if (!found) made.set(granularity, (found = new Intl.Segmenter(undefined, {granularity})))
  return found
}
