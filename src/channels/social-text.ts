import type {Announcement, Variant} from '../core/announcement.js'
import {drillWord, isDrill} from '../core/drill.js'
import {headlineSaysFollowUp} from '../core/follow-up-lead.js'

// What a post on a social network says, for every social driver alike, so an officer reads the
// same announcement on X, Mastodon, Bluesky, Telegram and Facebook: a severity tag and the
// headline first, then what happened and what to do, and the web link.

/** Words, not only colour or emoji: a screen reader and a plain-text client must get it too. */
const severityTags: Record<string, string> = {
  Extreme: '🔴 EXTREME',
  Severe: '🟠 SEVERE',
  Moderate: '🟡 MODERATE',
  Minor: '🟢 MINOR',
}

export interface SocialText {
  /** The first line: tags and the headline. */
  heading: string
  /** Description and instruction, as paragraphs separated by a blank line. */
  body: string
  /** Where to read more: the announcement's web page, else its CAP document. */
  link?: string
}

export interface SocialTextOptions {
  /** Put the severity tag before the headline (default true). */
  severityTag?: boolean
  capUrl?: string
}

export function socialText(announcement: Announcement, variant: Variant, options: SocialTextOptions = {}): SocialText {
  const tags: string[] = []
  if (isDrill(announcement.status)) tags.push(drillWord(announcement.status))
  // A Cancel withdraws an alarm: an orange SEVERE before "there is no gas leak" would raise one.
  if (options.severityTag !== false && announcement.msgType !== 'Cancel') {
    const tag = severityTags[announcement.severity]
    if (tag) tags.push(tag)
  }
  // The headline may say it already (a Cancel is drafted as "Cancelled: …"): once is enough.
  if (!headlineSaysFollowUp(announcement.msgType, variant.headline)) {
    if (announcement.msgType === 'Update') tags.push('UPDATE')
    else if (announcement.msgType === 'Cancel') tags.push('CANCELLED')
  }
  const heading = [tags.join(' · '), variant.headline.trim()].filter(Boolean).join(': ')
  const body = [variant.description, variant.instruction]
    .map((text) => text?.trim())
    .filter((text): text is string => Boolean(text))
    .join('\n\n')
  const link = announcement.web ?? options.capUrl
  return {heading, body, ...(link && {link})}
}

/** The whole post as one piece of text, for platforms without a length problem. */
export function socialTextAsOne(text: SocialText): string {
  return [text.heading, text.body, text.link].filter(Boolean).join('\n\n')
}
