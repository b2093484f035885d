import {UsageError} from './errors.js'
import {parseDuration} from './duration.js'
import {wallTimeToInstant, type WallTime} from './time-zone.js'

/**
 * The last instant CAP's four-digit years can say. A slip like +100000000d is refused here
 * rather than stored as a time no date can hold, which broke every later show, preview and
 * broadcast; a merely far-off expiry is policy's to warn about (maxExpiryDays).
 */
export const latestTime = Date.UTC(9999, 11, 31, 23, 59, 59)

/** The furthest a JavaScript Date reaches either side of 1970, in ms (ECMA-262 TimeClip). */
const latestDate = 8.64e15

const isoPattern = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?(Z|[+-]\d{2}:?\d{2})?$/

/**
 * An ISO 8601 time; without an offset it is wall time in `timeZone` (a date alone is its
 * midnight). Undefined when it is not one.
 */
export function parseIsoTime(text: string, timeZone: string): number | undefined {
  const match = isoPattern.exec(text.trim())
  if (!match) return undefined
  if (match[8]) {
    const parsed = Date.parse(text.trim().replace(' ', 'T'))
    return Number.isNaN(parsed) ? undefined : parsed
  }
  const wall = isoWallTime(text)
  return wall && wallTimeToInstant(wall, timeZone)
}

/**
 * The wall time an ISO 8601 time without an offset names (a date alone: its midnight), as
 * typed: undefined when it is not one, is not a real date, or has an offset.
 */
export function isoWallTime(text: string): WallTime | undefined {
  const match = isoPattern.exec(text.trim())
  if (!match || match[8]) return undefined
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '0'] = match
  const wall = {year: +year!, month: +month!, day: +day!, hour: +hour, minute: +minute, second: +second, ms: Number(fraction.padEnd(3, '0'))}
  const check = new Date(Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second))
  if (check.getUTCMonth() !== wall.month - 1 || check.getUTCDate() !== wall.day || wall.hour > 23) return undefined
  return wall
}

/**
 * An expiry as officers type it: ISO 8601 ("2026-11-25T18:00" in the configured zone,
 * "2026-11-25T18:00:00Z") or relative to now ("+6h", "+2d", "+90m"). The past is refused.
 * A date alone is the end of that day, as for `schedule --until`: "expires 2026-11-27" keeps
 * the announcement live through the 27th rather than withdrawing it as the 27th begins.
 */
export function parseExpiry(text: string, now: number, timeZone = 'UTC'): number {
  const trimmed = text.trim()
  let at: number | undefined
  if (trimmed.startsWith('+')) {
    const ms = parseDuration(trimmed.slice(1))
    if (ms !== undefined && ms > 0) at = now + ms
  } else {
    at = parseIsoTime(/^\d{4}-\d{2}-\d{2}$/.test(trimmed) ? `${trimmed}T23:59:59` : trimmed, timeZone)
  }
  if (at === undefined) {
    throw new UsageError(`--expires "${text}" is not a time — use ISO 8601 (2026-11-25T18:00Z) or a relative time (+6h, +2d)`)
  }
  if (!Number.isFinite(at) || at > latestTime) {
    throw new UsageError(`--expires "${text}" is past the year 9999 — give a nearer time (+6h, +2d, 2026-11-25T18:00Z)`)
  }
  if (at <= now) throw new UsageError(`--expires ${new Date(at).toISOString()} is in the past — give a later time`)
  return at
}

/** A --since (or --until) value: ISO 8601, or a duration back from now ("24h", "7d"). */
export function parseSince(text: string, now: number, timeZone = 'UTC', flag = '--since'): number {
  const ms = parseDuration(text)
  if (ms !== undefined) {
    // 9999999999999999d back is before any time a Date can hold (±8.64e15 ms): not a time.
    if (!(Math.abs(now - ms) <= latestDate)) throw new UsageError(`${flag} "${text}" is further back than any date — use ISO 8601 (2026-11-25) or a shorter duration (24h, 7d)`)
    return now - ms
  }
  const parsed = parseIsoTime(text, timeZone)
  if (parsed !== undefined) return parsed
  throw new UsageError(`${flag} "${text}" is not a time — use ISO 8601 (2026-11-25) or a duration (24h, 7d)`)
}
