import {parsePhoneNumberFromString, type CountryCode} from 'libphonenumber-js'
import {isEmailAddress} from '../email-address.js'

// Contacts as crier stores and compares them: phone numbers in E.164, e-mail addresses
// lower-cased. libphonenumber-js knows every country's numbering plan; the default region
// (config `defaultRegion`) reads numbers written without +country.

/**
 * E.164 for a number of a possible length for its country, or undefined. "Possible", not
 * "valid": validity depends on numbering-plan metadata that lags new ranges (and excludes the
 * Ofcom drama range, 07700 900xxx), and dropping a real resident from an emergency list over
 * stale metadata is worse than a provider rejecting one number (SMS 21211 → dead, with reason).
 */
export function normalisePhone(text: string, defaultRegion?: string): string | undefined {
  // tel:+44… (RFC 3966), as CRM exports and web forms write them.
  const number = text.trim().replace(/^tel:/i, '')
  if (!/^[\d\s()+.-]+$/.test(number)) return undefined
  const parsed = parsePhoneNumberFromString(number, defaultRegion as CountryCode | undefined)
  return parsed?.isPossible() ? parsed.number : undefined
}

// Syntax only: what the e-mail driver sends to (isEmailAddress), with a dot in the domain, as a
// resident's address has. Whether the mailbox exists is the SMTP server's answer, not ours.
const topLevelDomain = /\.[^.]{2,}$/

export function normaliseEmail(text: string): string | undefined {
  const trimmed = text.trim().toLowerCase()
  return isEmailAddress(trimmed) && topLevelDomain.test(trimmed) ? trimmed : undefined
}

/** An e-mail address or a phone number typed by an officer, normalised, or undefined. */
export function normaliseContact(text: string, defaultRegion?: string): string | undefined {
  return text.includes('@') ? normaliseEmail(text) : normalisePhone(text, defaultRegion)
}
