import {categories, certainties, severities, urgencies, type Category, type Certainty, type Severity, type Urgency} from './announcement.js'
import {UsageError} from './errors.js'
import {graphemePrefix} from './segmenter.js'

// CAP enumerations as officers type them: case does not matter, the canonical spelling is kept,
// and an unknown value is refused with the list of valid ones.

function pick<T extends string>(values: readonly T[], typed: string, flag: string): T {
  const found = values.find((value) => value.toLowerCase() === typed.trim().toLowerCase())
  if (!found) throw new UsageError(`${flag} "${typed}" is not valid — use one of ${values.join(', ')}`)
  return found
}

export const parseSeverity = (typed: string): Severity => pick(severities, typed, '--severity')
export const parseUrgency = (typed: string): Urgency => pick(urgencies, typed, '--urgency')
export const parseCertainty = (typed: string): Certainty => pick(certainties, typed, '--certainty')
export const parseCategory = (typed: string): Category => pick(categories, typed, '--category')

/** CAP `event` when the officer gives none: a plain word for the category. */
export const defaultEvent: Record<Category, string> = {
  Geo: 'Geophysical',
  Met: 'Weather',
  Safety: 'Public safety',
  Security: 'Security',
  Rescue: 'Rescue',
  Fire: 'Fire',
  Health: 'Health',
  Env: 'Environment',
  Transport: 'Transport',
  Infra: 'Infrastructure',
  CBRNE: 'CBRNE',
  Other: 'Announcement',
}

/** A headline from the text when none is given: its first sentence, cut at a word under 140 characters. */
export function headlineFrom(text: string): string {
  const firstLine = text.split('\n')[0]!.trim()
  const sentence = firstSentence(firstLine)
  if ([...sentence].length <= 140) return sentence
  const cut = [...sentence].slice(0, 139).join('')
  // At the last space, or 80 in; between characters as a reader sees them, never inside a
  // joined emoji or a flag.
  return graphemePrefix(cut, Math.max(cut.lastIndexOf(' '), 80)).trimEnd() + '…'
}

// Words whose full stop does not end a sentence: a headline of "St." (St. Asaph), "No." (No. 5
// bus) or "Gas leak on U.S." is worse than none. Dotted initials (U.S., e.g.) are caught apart;
// a lone capital is not an initial ("Evacuate Zone A. Go now."), nor a possessive's s.
const abbreviations = new Set(
  'st mr mrs ms dr no nos jct rd ave mt ft sgt insp supt ch cllr rev prof approx etc vs eg ie cf am pm co ltd inc dept govt tel cat ind nr apt bldg hosp'.split(' '),
)
/** After a name ("Main St.", "Station Rd."), these are the street and may end the sentence; alone ("St. Asaph"), a saint. */
const streets = new Set(['st', 'rd', 'ave'])

/** The text up to the first full stop, ! or ? that ends a sentence: before a capital (or the end), not after an abbreviation or initials. */
function firstSentence(line: string): string {
  for (const match of line.matchAll(/[.!?]+(?=\s+(\S)|$)/g)) {
    const end = match.index + match[0].length
    const next = match[1]
    if (next !== undefined && !/[\p{Lu}\p{Lt}\p{N}"'“‘([]/u.test(next)) continue
    if (match[0] === '.' && !endsSentence(line.slice(0, match.index))) continue
    return line.slice(0, end)
  }
  return line
}

/** Whether a full stop after `before` ends a sentence. */
function endsSentence(before: string): boolean {
  const word = /([\p{L}.]+)$/u.exec(before)?.[1] ?? ''
  if (/^(\p{L}\.)+\p{L}$/u.test(word)) return false
  const bare = word.replace(/\./g, '').toLowerCase()
  if (!abbreviations.has(bare)) return true
  if (!streets.has(bare)) return false
  const previous = /(\S+)\s+\S+$/u.exec(before)?.[1] ?? ''
  return /^\p{Lu}/u.test(previous)
}

export function parseWebLink(typed: string): string {
  try {
    const url = new URL(typed)
    if (url.protocol === 'http:' || url.protocol === 'https:') return url.toString()
  } catch {
    // fall through to the error below
  }
  throw new UsageError(`--web "${typed}" is not an http(s) address — give the full URL, https://…`)
}

/** A repeatable flag's values as the names they list: "a,b" --flag c, blanks dropped, each once. */
export function splitCommaList(values: string[]): string[] {
  return [...new Set(values.flatMap((value) => value.split(',')).map((name) => name.trim()).filter(Boolean))]
}

/** --channel is repeatable and takes comma lists: "a,b" --channel c. */
export function splitChannelList(values: string[]): string[] {
  return splitNameList(values, '--channel', 'give the channels it goes to (crier channels list shows them)')
}

/**
 * A repeatable flag that takes comma lists. Given but naming nothing (a script's empty
 * "$CHANNELS") is refused: taken as not given, it would quietly mean the default.
 */
export function splitNameList(values: string[], flag: string, hint: string): string[] {
  const names = splitCommaList(values)
  if (values.length > 0 && names.length === 0) throw new UsageError(`${flag} names nothing — ${hint}`)
  return names
}
