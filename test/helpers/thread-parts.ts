import type {PostedPart} from '../../src/channels/driver.js'

/**
 * A send context's thread progress kept in memory, as the engine keeps it in the store: the
 * same array is what the next attempt sees as `postedParts`.
 */
export function partsInMemory(initial: PostedPart[] = []): {postedParts: PostedPart[]; recordPart: (part: PostedPart) => void} {
  const postedParts = [...initial]
  return {
    postedParts,
    recordPart(part: PostedPart) {
      postedParts[part.index] = part
    },
  }
}
