import {createRequire} from 'node:module'
import type {CountryCode} from 'libphonenumber-js'
import type {PersonalDataDetector} from '../../config/schema.js'

// Personal data an officer may paste into an announcement by mistake: a caller's phone number,
// an e-mail address, a National Insurance number, a vehicle registration. What is found is
// reported masked: a finding must not publish, log or print what it protects.

export interface PersonalDataFound {
  detector: PersonalDataDetector
  /** Identifies one item across fields and languages (E.164, lower-cased address, …). */
  key: string
  /** Safe to show: "+44 77** ***123", "j***@example.org", "JG ** ** ** C", "AB12 ***". */
  masked: string
}

export interface PersonalDataOptions {
  detectors: ReadonlySet<PersonalDataDetector>
  /** Regions for numbers written without +country; empty reads only +country numbers. */
  regions: readonly string[]
  allowedNumbers: readonly string[]
  /** Addresses, or "@domain" for a whole domain and its subdomains. */
  allowedEmails: readonly string[]
}

/**
 * Numbers the public is told to call, everywhere: emergency (999, 112, 911), police non-emergency
 * (101), NHS (111), power cut (105), the EU's 116 helplines, US 211/311/511/988.
 */
const publicServiceNumbers = new Set(['999', '112', '911', '101', '111', '105', '119', '116000', '116006', '116111', '116117', '116123', '211', '311', '511', '988'])

type PhoneLibrary = typeof import('libphonenumber-js')
let phoneLibrary: PhoneLibrary | undefined

/** libphonenumber-js and its metadata load on first use, not with every command that imports the check. */
function phones(): PhoneLibrary {
  phoneLibrary ??= createRequire(import.meta.url)('libphonenumber-js') as PhoneLibrary
  return phoneLibrary
}

/**
 * What is read: `text` is prose, or `link`, a web address with its percent escapes decoded. Links
 * are full of ids ("/news/1234567", "?id=123456789") that read as national phone numbers, so in a
 * link a number counts only when written with its + or leading 0, as people write one to call.
 */
export type TextKind = 'text' | 'link'

export function findPersonalData(written: string, options: PersonalDataOptions, kind: TextKind = 'text'): PersonalDataFound[] {
  // As the reader sees it: an invisible character (zero-width space, soft hyphen) inside a
  // number or an address does not hide it, nor do full-width digits and letters (pasted from a
  // phone or an input method: ０７７００ is read, and dialled, as 07700).
  const text = written.replace(/\p{Cf}/gu, '').normalize('NFKC')
  const found: PersonalDataFound[] = []
  if (options.detectors.has('phone')) found.push(...findPhoneNumbers(text, options, kind))
  if (options.detectors.has('email')) found.push(...findEmailAddresses(text, options))
  if (options.detectors.has('nationalInsurance')) found.push(...findNationalInsuranceNumbers(text))
  if (options.detectors.has('vehicleRegistration')) found.push(...findVehicleRegistrations(text))
  return found
}

// Phone numbers.

const phoneLikeRun = /\d[\d\s()./\u2010-\u2015-]{5,}\d/g

function findPhoneNumbers(text: string, options: PersonalDataOptions, kind: TextKind): PersonalDataFound[] {
  // A number anyone could call back has seven digits or more in one run of digits and
  // separators; text without such a run skips the (costlier) number finder.
  if (!(text.match(phoneLikeRun) ?? []).some((run) => run.replace(/\D/g, '').length >= 7)) return []
  const {findPhoneNumbersInText, isSupportedCountry} = phones()
  const regions = options.regions.filter((region) => isSupportedCountry(region)) as CountryCode[]
  const allowed = allowedNumberKeys(options.allowedNumbers, regions)
  const found = new Map<string, PersonalDataFound>()
  // "Possible" (a plausible length for the country), not "valid": numbering plans gain ranges
  // faster than metadata is updated, and a missed real number is worse than one false alarm.
  for (const region of regions.length ? regions : [undefined]) {
    for (const match of findPhoneNumbersInText(text, {defaultCountry: region, extended: true})) {
      const number = match.number
      const asWritten = text.slice(match.startsAt, match.endsAt)
      if (kind === 'link' && !/^\(?[+0]/.test(asWritten)) continue
      const written = asWritten.replace(/\D/g, '')
      if (allowed.has(number.number) || allowed.has(written) || publicServiceNumbers.has(written)) continue
      if (!found.has(number.number)) found.set(number.number, {detector: 'phone', key: number.number, masked: maskPhone(number.formatInternational(), number.countryCallingCode.length)})
    }
  }
  return [...found.values()]
}

/** E.164 of each allowed number in every region, and its bare digits (for short codes). */
function allowedNumberKeys(numbers: readonly string[], regions: CountryCode[]): Set<string> {
  const {parsePhoneNumberFromString} = phones()
  const keys = new Set<string>()
  for (const text of numbers) {
    keys.add(text.replace(/\D/g, ''))
    for (const region of regions.length ? regions : [undefined]) {
      const parsed = parsePhoneNumberFromString(text, region)
      if (parsed) keys.add(parsed.number)
    }
  }
  return keys
}

/** "+44 7700 900123" → "+44 77** ***123": the country, two digits and the last three stay. */
export function maskPhone(international: string, callingCodeDigits: number): string {
  const total = international.replace(/\D/g, '').length
  const keepStart = Math.min(callingCodeDigits + 2, Math.max(0, total - 6))
  const keepEnd = Math.min(3, Math.max(0, total - keepStart - 3))
  let seen = 0
  return international.replace(/\d/g, (digit) => {
    seen++
    return seen <= keepStart || seen > total - keepEnd ? digit : '*'
  })
}

// E-mail addresses.

const emailPattern = /(?<![\p{L}\p{N}._%+-])[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/gu

function findEmailAddresses(text: string, options: PersonalDataOptions): PersonalDataFound[] {
  if (!text.includes('@')) return []
  const found = new Map<string, PersonalDataFound>()
  for (const [address] of text.matchAll(emailPattern)) {
    const key = address.toLowerCase()
    if (isAllowedEmail(key, options.allowedEmails) || found.has(key)) continue
    const [local, domain] = key.split('@') as [string, string]
    found.set(key, {detector: 'email', key, masked: `${[...local][0]}***@${domain}`})
  }
  return [...found.values()]
}

function isAllowedEmail(address: string, allowed: readonly string[]): boolean {
  const domain = address.slice(address.indexOf('@') + 1)
  return allowed.some((entry) => {
    const wanted = entry.trim().toLowerCase()
    if (!wanted.startsWith('@')) return wanted === address
    const allowedDomain = wanted.slice(1)
    return domain === allowedDomain || domain.endsWith(`.${allowedDomain}`)
  })
}

// UK National Insurance numbers: two prefix letters (HMRC never issues D, F, I, Q, U or V
// first, nor D, F, I, O, Q, U or V second, nor BG, GB, KN, NK, NT, TN, ZZ), six digits and a
// suffix A–D, often written in pairs: "JG 10 37 59 C", "JG-10-37-59-C". HMRC's own example, QQ,
// is never issued.
/** Between the parts of a National Insurance number: at most one space, hyphen or dash. */
const niSeparator = '[ \\u00a0\\u2010-\\u2015-]?'
const nationalInsurancePattern = new RegExp(
  `(?<![\\p{L}\\p{N}])(?!BG|GB|KN|NK|NT|TN|ZZ)([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z])${niSeparator}(\\d{2})${niSeparator}(\\d{2})${niSeparator}(\\d{2})${niSeparator}([A-D])(?![\\p{L}\\p{N}])`,
  'giu',
)

function findNationalInsuranceNumbers(text: string): PersonalDataFound[] {
  const found = new Map<string, PersonalDataFound>()
  for (const match of text.matchAll(nationalInsurancePattern)) {
    const prefix = match[1]!.toUpperCase()
    const suffix = match[5]!.toUpperCase()
    const key = `${prefix}${match[2]}${match[3]}${match[4]}${suffix}`
    if (!found.has(key)) found.set(key, {detector: 'nationalInsurance', key, masked: `${prefix} ** ** ** ${suffix}`})
  }
  return [...found.values()]
}

// UK vehicle registrations in the current format (since 2001): two letters, two digits, three
// letters, "AB12 CDE", in any case ("ab12 cde", "Ab12 Cde"). Written with a space, and not in
// capitals as plates are, the same shape is often a postcode district or a measure followed by
// a word ("LL26 and", "pm10 was"): then both groups of letters must be written alike (both lower
// case or both capitalised) and the last must not be a common word. Not read: "MA 12 CDE", a
// space after the letters, which has the shape of "ON 12 MAY" and "TO 40 MPH".
const vehicleRegistrationPattern = /(?<![\p{L}\p{N}])([A-Z]{2})(\d{2})( ?)([A-HJ-PR-Z]{3})(?![\p{L}\p{N}])/giu

/** Three-letter words that follow a postcode district or a measure in a sentence. */
const commonWords = new Set(['ago', 'all', 'and', 'any', 'are', 'but', 'can', 'day', 'due', 'far', 'few', 'for', 'got', 'had', 'has', 'how', 'lay', 'let', 'may', 'new', 'nor', 'not', 'now', 'off', 'old', 'one', 'our', 'out', 'own', 'per', 'saw', 'say', 'see', 'set', 'she', 'the', 'too', 'two', 'use', 'was', 'way', 'who', 'yet', 'you'])

function findVehicleRegistrations(text: string): PersonalDataFound[] {
  const found = new Map<string, PersonalDataFound>()
  for (const [, memoryTag, age, space, letters] of text.matchAll(vehicleRegistrationPattern)) {
    if (!readsAsPlate(memoryTag!, letters!, Boolean(space))) continue
    const front = `${memoryTag!.toUpperCase()}${age}`
    const key = `${front}${letters!.toUpperCase()}`
    if (!found.has(key)) found.set(key, {detector: 'vehicleRegistration', key, masked: `${front} ***`})
  }
  return [...found.values()]
}

/** Whether a match is a plate rather than a word after a postcode district or a measure ("LL26 and"). */
function readsAsPlate(memoryTag: string, letters: string, spaced: boolean): boolean {
  if (!spaced || memoryTag + letters === (memoryTag + letters).toUpperCase()) return true
  return sameCasing(memoryTag, letters) && !commonWords.has(letters.toLowerCase())
}

/** Both lower case ("ab", "cde") or both capitalised ("Ab", "Cde"). */
function sameCasing(first: string, second: string): boolean {
  const casing = (word: string) => (word === word.toLowerCase() ? 'lower' : word === word[0]!.toUpperCase() + word.slice(1).toLowerCase() ? 'capitalised' : 'mixed')
  const casingOfFirst = casing(first)
  return casingOfFirst !== 'mixed' && casingOfFirst === casing(second)
}
