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

/** The longest start of `text` within `max` UTF-16 units that ends between characters as a reader sees them: never inside a joined emoji or a flag. */
export function graphemePrefix(text: string, max: number): string {
  let kept = ''
  for (const {segment} of segmenter('grapheme').segment(text)) {
    if (kept.length + segment.length > max) break
    kept += segment
  }
  return kept
}
