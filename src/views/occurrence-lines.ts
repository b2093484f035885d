import {shortId} from '../core/ids.js'

/**
 * After cancelling a recurring announcement: it is never sent itself, its occurrences are, each
 * its own message — those still going out and those in force, each with the cancel that withdraws it.
 */
export function occurrencesStillOutLine(stillOut: string[], sending: string[]): string {
  const going = sending.map((occurrence) => shortId(occurrence))
  const current = stillOut.filter((occurrence) => !sending.includes(occurrence)).map((occurrence) => shortId(occurrence))
  const one = (list: string[], single: string, plural: string) => (list.length === 1 ? single : plural)
  const cancels = (list: string[]) => list.map((occurrence) => `crier cancel ${occurrence}`).join('; ')
  const parts: string[] = []
  if (going.length) parts.push(`Its occurrence${one(going, '', 's')} ${going.join(', ')} ${one(going, 'is', 'are')} still going out — to stop ${one(going, 'it', 'them')} and withdraw what went: ${cancels(going)}`)
  if (current.length) parts.push(`Its occurrence${one(current, '', 's')} ${current.join(', ')} reached the public and ${one(current, 'is', 'are')} still current — to withdraw ${one(current, 'it', 'them')}: ${cancels(current)}`)
  return `Its schedule is ended. ${parts.join('. ')}`
}
