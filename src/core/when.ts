import * as chrono from 'chrono-node'
import {UsageError} from './errors.js'
import {parseIsoTime} from './time-input.js'
import {wallTimeInstants, wallTimeToInstant, zoneOffsetMs, type WallTime} from './time-zone.js'

// WHEN for `crier schedule --at`: ISO 8601, or plain words ("tomorrow 07:30", "in 2 hours",
// "next Monday 9am") read in the configured time zone. chrono-node reads the words; it knows
// time zones only as abbreviations, so it is given the zone's wall clock as if it were local
// time, and its answer is converted back with the zone's rules (DST included).

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
  if (date === undefined) return resolveWhen(text, now, timeZone, given)
  if (parseIsoTime(date, timeZone) === undefined) throw new UsageError(`--until "${text}" is not a date — use ISO 8601 (2027-03-31) or words like "31 Mar 2027"`)
  return {...resolveWhen(`${date}T23:59:59`, now, timeZone, given), understood: trimmed}
}

function resolveWhen(text: string, now: number, timeZone: string, given: Given): ResolvedWhen {
  const trimmed = text.trim()
  // "in 2 hours" is elapsed time, not wall-clock arithmetic: no DST of any zone moves it.
  const relative = relativePattern.exec(trimmed)
  if (relative) return checked({at: now + Math.round(Number(relative[1]) * unitMs[relative[2]![0]!.toLowerCase()]!), understood: trimmed}, now, given, timeZone)
  const iso = parseIsoTime(trimmed, timeZone)
  if (iso !== undefined) {
    if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(trimmed)) refuseAmbiguous(wallOf(iso, timeZone), timeZone, given)
    return checked({at: iso, understood: trimmed}, now, given, timeZone)
  }
  const numeric = numericDateIn(trimmed)
  if (numeric) refuseAmbiguousDate(numeric, given)

  // The zone's wall clock now, as a local Date with the same components, for chrono.
  const wall = wallOf(now, timeZone)
  const asLocal = new Date(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second)
  const [result] = chrono.parse(trimmed, asLocal, {forwardDate: true})
  if (!result || result.index !== 0 || result.text.trim().length !== trimmed.length) {
    throw new UsageError(`${given.flag} "${given.text}" is not a time crier understands — use ISO 8601 (2026-11-26T07:30) or words like "tomorrow 07:30", "in 2 hours", "next Monday 9am"`)
  }
  const start = result.start
  if (!start.isCertain('hour')) {
    throw new UsageError(`${given.flag} "${given.text}" has no time of day — say it, e.g. "${trimmed} 07:30"`)
  }
  const when = {year: start.get('year')!, month: start.get('month')!, day: start.get('day')!, hour: start.get('hour')!, minute: start.get('minute') ?? 0, second: start.get('second') ?? 0}
  refuseAmbiguous(when, timeZone, given)
  return checked({at: wallTimeToInstant(when, timeZone), understood: result.text}, now, given, timeZone)
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
  const shifted = new Date(instant + zoneOffsetMs(instant, timeZone))
  return {year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate(), hour: shifted.getUTCHours(), minute: shifted.getUTCMinutes(), second: shifted.getUTCSeconds()}
}

/** 01:30 on a fall-back night happens twice: an officer must say which. */
function refuseAmbiguous(wall: WallTime, timeZone: string, given: Given): void {
  const instants = wallTimeInstants(wall, timeZone)
  if (instants.length > 1) {
    const pad = (n: number) => String(n).padStart(2, '0')
    const local = `${wall.year}-${pad(wall.month)}-${pad(wall.day)}T${pad(wall.hour)}:${pad(wall.minute)}`
    const options = instants.map((instant) => {
      const minutes = zoneOffsetMs(instant, timeZone) / 60_000
      return `${local}${minutes < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`
    })
    throw new UsageError(`${given.flag} "${given.text}" happens twice in ${timeZone} (the clocks go back that night) — give the offset: ${options.join(' or ')}`)
  }
}

function checked(resolved: ResolvedWhen, now: number, given: Given, timeZone: string): ResolvedWhen {
  if (resolved.at <= now) throw new UsageError(`${given.flag} "${given.text}" is in the past (${formatInZone(resolved.at, timeZone)}) — give a later time`)
  return resolved
}

/** "Thu 26 Nov 2026 07:30 GMT": how crier echoes a resolved time, in the configured zone. */
export function formatInZone(at: number, timeZone: string, withYear = true): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: withYear ? 'numeric' : undefined,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).formatToParts(new Date(at))
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? ''
  return `${get('weekday')} ${get('day')} ${get('month')}${withYear ? ' ' + get('year') : ''} ${get('hour')}:${get('minute')} ${get('timeZoneName')}`
}

/** "in 18 h 38 min" */
export function formatFromNow(at: number, now: number): string {
  const seconds = Math.round((at - now) / 1000)
  if (seconds < 90) return `in ${seconds} s`
  const minutes = Math.round(seconds / 60)
  if (minutes < 60) return `in ${minutes} min`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `in ${hours} h ${minutes % 60} min`
  return `in ${Math.round(hours / 24)} days`
}
