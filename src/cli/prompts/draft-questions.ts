import type {Config} from '../../config/load.js'
import type {Certainty, Urgency} from '../../core/announcement.js'
import {headlineFrom} from '../../core/fields.js'

/** One thing guided drafting can ask for; each is a `crier draft` argument or flag. */
export type DraftQuestion = 'text' | 'headline' | 'severity' | 'urgency' | 'certainty' | 'area' | 'instruction' | 'web' | 'channels' | 'expires'

/** What the officer gave on the command line; an empty or blank value counts as not given. */
export interface GivenDraft {
  text?: string
  headline?: string
  severity?: string
  urgency?: string
  certainty?: string
  area?: string
  instruction?: string
  web?: string
  expires?: string
  channels: string[]
}

// The order questions are asked in: what is said, how serious, where, how long.
const order: DraftQuestion[] = ['text', 'headline', 'severity', 'urgency', 'certainty', 'area', 'instruction', 'web', 'channels', 'expires']

// Fields a policy may require (policy.content.requireFields) that crier can ask for. headline
// and event always get a value (first sentence, the category's word); expires is always asked.
const askableRequiredFields = ['area', 'instruction', 'web'] as const

const isMissing = (value: string | undefined) => value === undefined || value.trim() === ''

/**
 * The questions to ask, in order; empty when nothing is missing (then nothing is asked and
 * nothing confirmed, exactly as off a terminal). The headline is asked only alongside other
 * questions: a missing headline alone has a good default and does not start an interview.
 */
export function draftQuestions(given: GivenDraft, config: Pick<Config, 'channels' | 'policy'>): DraftQuestion[] {
  const missing = new Set<DraftQuestion>()
  if (isMissing(given.text)) missing.add('text')
  if (isMissing(given.severity)) missing.add('severity')
  if (isMissing(given.urgency)) missing.add('urgency')
  if (isMissing(given.certainty)) missing.add('certainty')
  for (const field of askableRequiredFields) {
    if (config.policy.content.requireFields.includes(field) && isMissing(given[field])) missing.add(field)
  }
  // With one channel configured there is nothing to choose (createDraft picks it).
  if (given.channels.length === 0 && Object.keys(config.channels).length > 1) missing.add('channels')
  if (isMissing(given.expires)) missing.add('expires')
  if (missing.size === 0) return []
  if (isMissing(given.headline)) missing.add('headline')
  return order.filter((question) => missing.has(question))
}

/** Urgency and certainty default to what `crier draft` records when their flags are absent. */
export const defaultUrgency: Urgency = 'Unknown'
export const defaultCertainty: Certainty = 'Unknown'
/** A bounded default life: an announcement nobody remembers to expire stays in feeds forever. */
export const defaultExpiry = '+6h'

/** The headline offered: the text's first sentence, as `crier draft` would choose. */
export const defaultHeadline = (text: string): string => headlineFrom(text)

/** Channels ticked at first: every configured channel (the config names no default set). */
export const defaultChannels = (config: Pick<Config, 'channels'>): string[] => Object.keys(config.channels)
