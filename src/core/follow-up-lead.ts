import type {Announcement} from './announcement.js'

// A follow-up says what it is before its headline — "Update: …", "Cancelled: …" — unless the
// headline says so already: a Cancel's headline is drafted as "Cancelled: <headline>", and
// saying it twice costs characters and reads as a fault.

/** The headline already says it is an Update or a Cancel. */
export function headlineSaysFollowUp(msgType: Announcement['msgType'], headline: string): boolean {
  if (msgType === 'Update') return /^updated?\b/i.test(headline.trim())
  if (msgType === 'Cancel') return /^cancell?ed\b/i.test(headline.trim())
  return false
}

/**
 * "Update: ", "Cancelled: " or nothing, to go before the headline in `language`. Only before an
 * English one: the words are English, and an officer who wrote the Welsh headline of a Cancel
 * wrote "Canslwyd: …" themselves — "Cancelled: Canslwyd: …" reads as a fault.
 */
export function followUpLead(announcement: Announcement, headline: string, language: string): string {
  if (language.split('-')[0]!.toLowerCase() !== 'en') return ''
  if (headlineSaysFollowUp(announcement.msgType, headline)) return ''
  return announcement.msgType === 'Update' ? 'Update: ' : announcement.msgType === 'Cancel' ? 'Cancelled: ' : ''
}
