import * as chrono from 'chrono-node'
import {UsageError} from './errors.js'
import {formatSpan} from './span.js'
import {isoWallTime, latestTime, parseIsoTime} from './time-input.js'
import {wallTimeInstants, wallTimeToInstant, zoneOffsetMs, type WallTime} from './time-zone.js'

// WHEN for `crier schedule --at`: ISO 8601, or plain words ("tomorrow 07:30", "in 2 hours",
// "next Monday 9am") read in the configured time zone. chrono-node reads the words; it knows
// time zones only as abbreviations, so it is given the zone's wall clock as if it were local
// time, and its answer is converted back with the zone's rules (DST included).
//
// A zone or offset written after the time ("07:30 EST", "9am PT", "07:30 +05:00") is taken out
// before chrono sees the words, and the words are then read on that zone's clock: chrono reads
// "07:30 -08:00" as 07:30 to 08:00, has some abbreviations wrong (NST), and compares a time it
// holds an offset for with a reference it does not, so its day and week depend on the server.

export interface ResolvedWhen {
  at: number
  /** What was understood, for the echo: chrono's matched text, or the ISO text. */
  understood: string
}

const relativePattern = /^in\s+(\d+(?:\.\d+)?)\s*(seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|w)$/i
const unitMs: Record<string, number> = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}

/** How a time was given, for errors: the flag and the text exactly as typed. */
interface Given {
  flag: string
  text: string
}

export function parseWhen(text: string, now: number, timeZone: string, flag = '--at'): ResolvedWhen {
  return resolveWhen(text, now, timeZone, {flag, text})
}

/**
 * `schedule --until`: as --at, except that a date alone (2027-03-31, 31/03/2027) means the end
 * of that day — "until the 31st" includes the 31st.
 */
export function parseUntil(text: string, now: number, timeZone: string): ResolvedWhen {
  const given = {flag: '--until', text}
  const trimmed = text.trim()
  const numeric = numericDateOnly.test(trimmed) ? numericDateIn(trimmed) : undefined
  if (numeric) refuseAmbiguousDate(numeric, given)
  const date = /^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? trimmed : numeric?.year ? numericIsoDate(numeric) : undefined
  if (date === undefined) {
    try {
      return resolveWhen(text, now, timeZone, given)
    } catch (error) {
      // A day in words ("friday", "31 March") is until the end of it, as a date is.
      if (!(error instanceof UsageError) || !/has no time of day/.test(error.message)) throw error
      return {...resolveWhen(`${trimmed} 23:59:59`, now, timeZone, given), understood: trimmed}
    }
  }
  if (parseIsoTime(date, timeZone) === undefined) throw new UsageError(`--until "${text}" is not a date — use ISO 8601 (2027-03-31) or words like "31 Mar 2027"`)
  return {...resolveWhen(`${date}T23:59:59`, now, timeZone, given), understood: trimmed}
}

function resolveWhen(text: string, now: number, timeZone: string, given: Given): ResolvedWhen {
  const trimmed = text.trim()
  // "in 2 hours" is elapsed time, not wall-clock arithmetic: no DST of any zone moves it.
  const relative = relativePattern.exec(trimmed)
  if (relative) return checked({at: now + Math.round(Number(relative[1]) * unitMs[relative[2]![0]!.toLowerCase()]!), understood: trimmed}, now, given, timeZone)
  const iso = parseIsoTime(trimmed, timeZone)
  // A date alone would be its midnight: a daytime notice sent at 00:00 with nobody watching.
  if (iso !== undefined && /^\d{4}-\d{2}-\d{2}(?:Z|[+-]\d{2}(?::?\d{2})?)?$/i.test(trimmed)) throw new UsageError(`${given.flag} "${given.text}" has no time of day — say it, e.g. "${trimmed}T07:30"`)
  if (iso !== undefined) {
    const wall = isoWallTime(trimmed)
    return checked({at: wall ? instantIn(wall, timeZone, given) : iso, understood: trimmed}, now, given, timeZone)
  }
  const numeric = numericDateIn(trimmed)
  if (numeric) refuseAmbiguousDate(numeric, given)

  const named = namedZone(trimmed, given, timeZone)
  if (named) return checked({at: resolveNamed(named, now, timeZone, given), understood: trimmed}, now, given, timeZone)
  const read = readWords(trimmed, wallOf(now, timeZone), given, timeZone)
  // A time counted from now ("2 hours from now") was not typed as a wall time: no gap or overlap to refuse.
  const at = read.relative ? wallTimeToInstant(read.wall, timeZone) : instantIn(read.wall, timeZone, given)
  return checked({at, understood: read.text}, now, given, timeZone)
}

interface Read {
  wall: WallTime
  /** Counted from now ("2 hours from now", "now") rather than a wall time. */
  relative: boolean
  text: string
}

/** The words read by chrono on a clock that shows `wallNow`: the wall time they name. */
function readWords(text: string, wallNow: WallTime, given: Given, timeZone: string): Read {
  // The clock's wall time now, as a local Date with the same components, for chrono.
  const asLocal = new Date(wallNow.year, wallNow.month - 1, wallNow.day, wallNow.hour, wallNow.minute, wallNow.second)
  const [result] = chrono.parse(text, asLocal, {forwardDate: true})
  if (!result || result.index !== 0 || result.text.trim().length !== text.length) {
    throw new UsageError(`${given.flag} "${given.text}" is not a time crier understands — use ISO 8601 (2026-11-26T07:30) or words like "tomorrow 07:30", "in 2 hours", "next Monday 9am"`)
  }
  const start = result.start
  if (!start.isCertain('hour')) {
    throw new UsageError(`${given.flag} "${given.text}" has no time of day — say it, e.g. "${given.text.trim()} 07:30"`)
  }
  // "07:30-08:30", and "07:30-08:00" meant as an offset: one time is scheduled, so say which.
  if (result.end) throw new UsageError(`${given.flag} "${given.text}" is a range of times — give one time (an offset goes after a space: "07:30 -08:00")`)
  const tags = result.tags()
  const relative = tags.has('result/relativeDateAndTime') || tags.has('casualReference/now')
  // chrono is certain of an offset when it counted from now, or read a zone in the words: one
  // that namedZone did not take out is one crier cannot vouch for, so it is not guessed at.
  if (start.isCertain('timezoneOffset') && !relative) throw unreadableZone(given, undefined, timeZone)
  const wall = {year: start.get('year')!, month: start.get('month')!, day: start.get('day')!, hour: start.get('hour')!, minute: start.get('minute') ?? 0, second: start.get('second') ?? 0}
  return {wall, relative, text: result.text}
}

// ---- Zones named in the words ----

/** What a zone abbreviation can mean: a fixed offset, or a zone's clock whatever the season (ET). */
interface ZoneMeaning {
  name: string
  /** Minutes east of UTC; absent for a zone's clock (ET is New York's, EST or EDT as the date has it). */
  offset?: number
  /** The zone whose standard or summer time this is (EST: America/New_York). */
  zone?: string
}

const meaning = (name: string, offset: number | undefined, zone?: string): ZoneMeaning => ({name, offset, zone})

/**
 * The abbreviations crier reads, with their real offsets (chrono has some wrong: NST, NDT). One
 * with more than one common meaning (IST, CST, AST) is read only where the configured zone is
 * one of them; any other abbreviation chrono knows is refused rather than trusted.
 */
const zoneAbbreviations: Record<string, ZoneMeaning[]> = {
  UTC: [meaning('UTC', 0)],
  GMT: [meaning('Greenwich Mean Time', 0, 'Europe/London')],
  BST: [meaning('British Summer Time', 60, 'Europe/London')],
  IST: [meaning('India Standard Time', 330, 'Asia/Kolkata'), meaning('Irish Standard Time', 60, 'Europe/Dublin'), meaning('Israel Standard Time', 120, 'Asia/Jerusalem')],
  WET: [meaning('Western European Time', 0, 'Europe/Lisbon')],
  WEST: [meaning('Western European Summer Time', 60, 'Europe/Lisbon')],
  CET: [meaning('Central European Time', 60, 'Europe/Paris')],
  CEST: [meaning('Central European Summer Time', 120, 'Europe/Paris')],
  EET: [meaning('Eastern European Time', 120, 'Europe/Athens')],
  EEST: [meaning('Eastern European Summer Time', 180, 'Europe/Athens')],
  MSK: [meaning('Moscow Time', 180, 'Europe/Moscow')],
  SAST: [meaning('South Africa Standard Time', 120, 'Africa/Johannesburg')],
  ET: [meaning('US Eastern Time', undefined, 'America/New_York')],
  EST: [meaning('Eastern Standard Time', -300, 'America/New_York')],
  EDT: [meaning('Eastern Daylight Time', -240, 'America/New_York')],
  CT: [meaning('US Central Time', undefined, 'America/Chicago')],
  CST: [meaning('Central Standard Time', -360, 'America/Chicago'), meaning('China Standard Time', 480, 'Asia/Shanghai')],
  CDT: [meaning('Central Daylight Time', -300, 'America/Chicago')],
  MT: [meaning('US Mountain Time', undefined, 'America/Denver')],
  MST: [meaning('Mountain Standard Time', -420, 'America/Denver')],
  MDT: [meaning('Mountain Daylight Time', -360, 'America/Denver')],
  PT: [meaning('US Pacific Time', undefined, 'America/Los_Angeles')],
  PST: [meaning('Pacific Standard Time', -480, 'America/Los_Angeles')],
  PDT: [meaning('Pacific Daylight Time', -420, 'America/Los_Angeles')],
  AKST: [meaning('Alaska Standard Time', -540, 'America/Anchorage')],
  AKDT: [meaning('Alaska Daylight Time', -480, 'America/Anchorage')],
  HST: [meaning('Hawaii Standard Time', -600, 'Pacific/Honolulu')],
  AST: [meaning('Atlantic Standard Time', -240, 'America/Halifax'), meaning('Arabia Standard Time', 180, 'Asia/Riyadh')],
  ADT: [meaning('Atlantic Daylight Time', -180, 'America/Halifax')],
  NST: [meaning('Newfoundland Standard Time', -210, 'America/St_Johns')],
  NDT: [meaning('Newfoundland Daylight Time', -150, 'America/St_Johns')],
  JST: [meaning('Japan Standard Time', 540, 'Asia/Tokyo')],
  KST: [meaning('Korea Standard Time', 540, 'Asia/Seoul')],
  HKT: [meaning('Hong Kong Time', 480, 'Asia/Hong_Kong')],
  SGT: [meaning('Singapore Time', 480, 'Asia/Singapore')],
  AWST: [meaning('Australian Western Standard Time', 480, 'Australia/Perth')],
  ACST: [meaning('Australian Central Standard Time', 570, 'Australia/Adelaide')],
  ACDT: [meaning('Australian Central Daylight Time', 630, 'Australia/Adelaide')],
  AEST: [meaning('Australian Eastern Standard Time', 600, 'Australia/Sydney')],
  AEDT: [meaning('Australian Eastern Daylight Time', 660, 'Australia/Sydney')],
  NZST: [meaning('New Zealand Standard Time', 720, 'Pacific/Auckland')],
  NZDT: [meaning('New Zealand Daylight Time', 780, 'Pacific/Auckland')],
}

/**
 * Something zone-like just after a time of day (07:30, 7:30pm, 9 am, noon): an offset
 * (+05:00, -0800, UTC+5, GMT-08:00), an IANA name, or a word of up to five letters — in
 * brackets or after a comma too. A "-" straight after the time (07:30-08:00) is left to be a range.
 */
const zoneAfterTime = /(?<=(?<![\d.:/-])\d{1,2}(?:[:.]\d{2}){0,2}\s*(?:[ap]\.?m\b\.?)?|\b(?:noon|midnight))(\s*,?\s*\(?)((?:GMT|UTC)\s?[+-]\d[\d:]*|[+-]\d[\d:]*|[a-z][\w-]*(?:\/[\w+-]+)+|[a-z]{1,5})\)?(?![\w/:+-])/gi
const offsetText = /^(?:(?:GMT|UTC)\s?)?([+-])(?:(\d{1,2})(?::(\d{2}))?|(\d{2})(\d{2}))$/i
/** Capitals that follow a time without being a zone. */
const notZones = /^(?:AM|PM|JAN|FEB|MAR|APR|MAY|JUNE?|JULY?|AUG|SEPT?|OCT|NOV|DEC|MON|TUES?|WED|THU|THURS?|FRI|SAT|SUN)$/

interface NamedZone {
  /** The zone as typed: "EST", "+05:00". */
  typed: string
  meanings: ZoneMeaning[]
  /** The words without it, for chrono. */
  rest: string
}

/** The zone or offset written after the time, if any; refuses one crier cannot read unambiguously. */
function namedZone(text: string, given: Given, timeZone: string): NamedZone | undefined {
  const found: {match: RegExpExecArray; meanings: ZoneMeaning[]}[] = []
  for (const match of text.matchAll(zoneAfterTime)) {
    const [whole, separator, token] = match as unknown as [string, string, string]
    const offset = /^(?:GMT|UTC)?\s?[+-]/i.exec(token) ? offsetText.exec(token) : undefined
    if (offset === null) throw new UsageError(`${given.flag} "${given.text}" has "${token}", which is not a UTC offset — write one as +05:00 or -08:00`)
    if (offset) {
      // 07:30-08:00 is a range to chrono, and to some readers: only an offset after a space or bracket is one.
      if (offset[1] === '-' && separator === '' && !/^(?:GMT|UTC)/i.test(token)) continue
      const hours = Number(offset[2] ?? offset[4])
      const minutes = Number(offset[3] ?? offset[5] ?? 0)
      if (minutes > 59 || hours * 60 + minutes > (offset[1] === '-' ? 12 : 14) * 60) {
        throw new UsageError(`${given.flag} "${given.text}" has "${token}", which is not a UTC offset — they run from -12:00 to +14:00`)
      }
      found.push({match, meanings: [meaning(token, (offset[1] === '-' ? -1 : 1) * (hours * 60 + minutes))]})
      continue
    }
    const known = zoneAbbreviations[token.toUpperCase()]
    if (known) {
      found.push({match, meanings: known})
    } else if (token.includes('/') || /^z$/i.test(token) || (token === token.toUpperCase() && !notZones.test(token) && match.index + whole.length === text.length)) {
      throw unreadableZone(given, token, timeZone)
    }
  }
  if (found.length === 0) return undefined
  if (found.length > 1) throw new UsageError(`${given.flag} "${given.text}" names more than one time zone — give one`)
  const [{match, meanings}] = found as [(typeof found)[number]]
  const rest = (text.slice(0, match.index) + text.slice(match.index + match[0].length)).replace(/\s+/g, ' ').trim()
  return {typed: match[2]!, meanings, rest}
}

function unreadableZone(given: Given, token: string | undefined, timeZone: string): UsageError {
  return new UsageError(`${given.flag} "${given.text}" names a time zone crier cannot read${token ? ` ("${token}")` : ''} — write its offset instead (+01:00, -05:00), or leave it out to mean ${timeZone}`)
}

/**
 * The instant the words name on the named zone's clock. "Tomorrow", "Monday" and a time alone
 * are read on that clock too, so the words mean one thing however the server is set.
 */
function resolveNamed(named: NamedZone, now: number, timeZone: string, given: Given): number {
  const readings = named.meanings.map((m) => {
    const read = readWords(named.rest, m.offset === undefined ? wallOf(now, m.zone!) : wallAt(now, m.offset * 60_000), given, timeZone)
    const at = m.offset === undefined ? instantIn(read.wall, m.zone!, given) : asUtc(read.wall) - m.offset * 60_000
    return {m, at, offset: m.offset ?? zoneOffsetMs(at, m.zone!) / 60_000}
  })
  // IST, CST, AST: only the configured zone can settle which (CST in America/Chicago is Central).
  const reading = readings.length === 1 ? readings[0] : readings.find((r) => r.m.zone === timeZone)
  if (!reading) {
    const names = readings.map((r) => `${r.m.name} (${formatOffset(r.offset)})`)
    throw new UsageError(`${given.flag} "${given.text}" could mean ${names.slice(0, -1).join(', ')} or ${names.at(-1)} — write the offset instead of ${named.typed.toUpperCase()}`)
  }
  const {m, at, offset} = reading
  // EST in July, GMT in a London summer: the offset it names, or the zone's clock that day? Ask —
  // unless the configured zone keeps that offset then (MST in Phoenix all year).
  const inForce = m.zone ? zoneOffsetMs(at, m.zone) / 60_000 : offset
  if (inForce !== offset && zoneOffsetMs(at, timeZone) !== offset * 60_000) {
    const typed = named.typed.toUpperCase()
    const abbreviation = Object.keys(zoneAbbreviations).find((key) => zoneAbbreviations[key]!.some((other) => other.zone === m.zone && other.offset === inForce))
    const onThen = abbreviation ? `${abbreviation} (${formatOffset(inForce)})` : formatOffset(inForce)
    const day = formatInZone(at, m.zone!).split(' ').slice(0, 4).join(' ')
    throw new UsageError(`${given.flag} "${given.text}" says ${typed} (${formatOffset(offset)}), but ${m.zone} is on ${onThen} on ${day} — write ${abbreviation ?? formatOffset(inForce)}, or ${formatOffset(offset)} if you mean ${typed} itself`)
  }
  return at
}

/** +05:30, -08:00, +00:00 from minutes east of UTC. */
function formatOffset(minutes: number): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${minutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`
}

// A date in numbers, day and month either way round: 03/04/2027, 3.4.27, 03-04-2027, 03/04.
// With dots or hyphens the year is required, so a time such as 10.05 is not taken for a date.
const numericDate = /(?<![\d./-])(\d{1,2})(?:\/(\d{1,2})(?:\/(\d{4}|\d{2}))?|([.-])(\d{1,2})\4(\d{4}|\d{2}))(?![\d./-])/
const numericDateOnly = new RegExp(`^${numericDate.source}$`)
const monthNames = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']

interface NumericDate {
  typed: string
  first: number
  second: number
  year?: string
}

function numericDateIn(text: string): NumericDate | undefined {
  const match = numericDate.exec(text)
  return match ? {typed: match[0], first: Number(match[1]), second: Number(match[2] ?? match[5]), year: match[3] ?? match[6]} : undefined
}

/**
 * 03/04/2027 is 3 April in Britain and 4 March in the US, and chrono reads it the US way: an
 * officer must not learn which from when the alert goes out. A date whose day and month could
 * swap is refused; one that reads only one way (13/04/2027, 04/13/2027, 04/04/2027) is read
 * that way.
 */
function refuseAmbiguousDate({typed, first, second, year}: NumericDate, given: Given): void {
  if (first === second || first < 1 || second < 1 || first > 12 || second > 12) return
  const name = (month: number) => monthNames[month - 1]!
  const short = `${first} ${name(second).slice(0, 3)}`
  const written = year === undefined ? `${short} or ${second} ${name(first).slice(0, 3)}` : `${isoDate(first, second, year)} or ${short} ${fullYear(year)}`
  throw new UsageError(`${given.flag} "${typed}" could be ${first} ${name(second)} or ${second} ${name(first)} — write ${written}`)
}

function fullYear(year: string): number {
  return year.length === 2 ? 2000 + Number(year) : Number(year)
}

/** An unambiguous numeric date as ISO: day first, unless only month first makes a date (04/13/2027). */
function numericIsoDate({first, second, year}: NumericDate): string {
  return second > 12 && first <= 12 ? isoDate(second, first, year!) : isoDate(first, second, year!)
}

/** 2027-04-03 from day 3, month 4, year "2027" (or "27"). */
function isoDate(day: number, month: number, year: string): string {
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${fullYear(year)}-${pad(month)}-${pad(day)}`
}

/** The zone's wall-clock components at an instant. */
function wallOf(instant: number, timeZone: string): WallTime {
  return wallAt(instant, zoneOffsetMs(instant, timeZone))
}

/** The wall-clock components at an instant on a clock `offsetMs` ahead of UTC. */
function wallAt(instant: number, offsetMs: number): WallTime {
  const shifted = new Date(instant + offsetMs)
  return {year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate(), hour: shifted.getUTCHours(), minute: shifted.getUTCMinutes(), second: shifted.getUTCSeconds()}
}

function asUtc(wall: WallTime): number {
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.ms ?? 0)
}

/** 2027-03-28T02:00+01:00: an instant as the zone's wall clock, to the minute, with its offset. */
function isoInZone(instant: number, timeZone: string): string {
  const wall = wallOf(instant, timeZone)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${wall.year}-${pad(wall.month)}-${pad(wall.day)}T${pad(wall.hour)}:${pad(wall.minute)}${formatOffset(zoneOffsetMs(instant, timeZone) / 60_000)}`
}

/**
 * The one instant a typed wall time names in the zone. 01:30 on a fall-back night happens
 * twice, and 01:30 on a spring-forward night never: an officer must say which time they mean.
 */
function instantIn(wall: WallTime, timeZone: string, given: Given): number {
  const instants = wallTimeInstants(wall, timeZone)
  if (instants.length === 1) return instants[0]!
  if (instants.length > 1) {
    throw new UsageError(`${given.flag} "${given.text}" happens twice in ${timeZone} (the clocks go back that night) — give the offset: ${instants.map((instant) => isoInZone(instant, timeZone)).join(' or ')}`)
  }
  // In the gap: the offsets either side, and the instant the clocks jump, to the second.
  const typed = asUtc(wall)
  const before = zoneOffsetMs(typed - 86_400_000, timeZone)
  const after = zoneOffsetMs(typed + 86_400_000, timeZone)
  let [lo, hi] = [typed - after, typed - before]
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000
    if (zoneOffsetMs(mid, timeZone) === before) lo = mid
    else hi = mid
  }
  const clock = (instant: number, offset: number) => new Date(instant + offset).toISOString().slice(11, 16)
  throw new UsageError(`${given.flag} "${given.text}" does not exist in ${timeZone} (the clocks go forward that night, from ${clock(hi, before)} to ${clock(hi, after)}) — give a time that does: ${isoInZone(hi - 60_000, timeZone)} or ${isoInZone(hi, timeZone)}`)
}

function checked(resolved: ResolvedWhen, now: number, given: Given, timeZone: string): ResolvedWhen {
  // CAP's dates have four-digit years: the latest --expires takes, so the latest a schedule names.
  if (!Number.isFinite(resolved.at) || resolved.at > latestTime) throw new UsageError(`${given.flag} "${given.text}" is past the year 9999 — give a nearer time`)
  if (resolved.at <= now) throw new UsageError(`${given.flag} "${given.text}" is in the past (${formatInZone(resolved.at, timeZone)}) — give a later time`)
  return resolved
}

/**
 * "Thu 26 Nov 2026 07:30 GMT": how crier echoes a resolved time, in the configured zone; with
 * its seconds when it has any ("in 1 minute" from 23:22:20 is 23:23:20, not 23:23).
 */
export function formatInZone(at: number, timeZone: string, withYear = true): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: withYear ? 'numeric' : undefined,
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(new Date(at))
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? ''
  const seconds = get('second') !== '00' ? `:${get('second')}` : ''
  return `${get('weekday')} ${get('day')} ${get('month')}${withYear ? ' ' + get('year') : ''} ${get('hour')}:${get('minute')}${seconds} ${get('timeZoneName')}`
}

/** "in 18 h 38 min" */
export function formatFromNow(at: number, now: number): string {
  return `in ${formatSpan(at - now)}`
}
