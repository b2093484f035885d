import {UsageError} from './errors.js'

// Wall-clock times typed without an offset mean the configured time zone (a duty officer in
// Wales types 18:00 and means 18:00 in Europe/London, whatever the server's TZ).

/** This machine's zone: for commands that read no config (list, audit, report) and the embedded default. */
export function machineTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
}

/** The zone's canonical name (UTC for Etc/UTC or GMT), or undefined where Intl knows no such zone. */
function resolvedZone(zone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en', {timeZone: zone}).resolvedOptions().timeZone
  } catch {
    return undefined
  }
}

/**
 * A zone for a schedule, as given: one named by a place (Europe/London) or UTC.
 * Abbreviations and fixed offsets (EST, GMT, Etc/GMT+5) are refused: they never change for
 * summer time, so a weekly 08:00 "EST" goes out at 09:00 New York time half the year — and
 * Etc/GMT+5 is five hours behind UTC, not ahead. `what` names where the zone came from.
 */
export function scheduleZone(zone: string, what: string): string {
  const resolved = resolvedZone(zone)
  if (resolved === undefined) throw new UsageError(`${what} "${zone}" is not a time zone — use an IANA name such as Europe/London`)
  if (resolved === 'UTC' && /^(?:etc\/)?utc$/i.test(zone)) return 'UTC'
  if (!zone.includes('/') || /^etc\//i.test(zone)) {
    throw new UsageError(`${what} "${zone}" is not a place's zone — name the place, e.g. Europe/London or America/New_York (or UTC): an abbreviation such as EST or GMT keeps no summer time`)
  }
  return zone
}

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone)
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    formatters.set(timeZone, formatter)
  }
  return formatter
}

/** The zone's offset from UTC at an instant, in ms (Europe/London in July: +3,600,000). */
export function zoneOffsetMs(instant: number, timeZone: string): number {
  const parts = Object.fromEntries(formatterFor(timeZone).formatToParts(new Date(instant)).map((p) => [p.type, p.value]))
  const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second))
  return asUtc - Math.floor(instant / 1000) * 1000
}

export interface WallTime {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
  ms?: number
}

/**
 * Every instant at which the zone's clocks show this wall time: one normally, two in a
 * fall-back hour (earlier first), none in a spring-forward gap.
 */
export function wallTimeInstants(wall: WallTime, timeZone: string): number[] {
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.ms ?? 0)
  // The offsets a day either side cover both sides of any DST change near this time.
  const candidates = [...new Set([asUtc - zoneOffsetMs(asUtc - 86_400_000, timeZone), asUtc - zoneOffsetMs(asUtc + 86_400_000, timeZone)])]
  const wholeSeconds = (ms: number) => Math.floor(ms / 1000)
  return candidates.filter((instant) => wholeSeconds(instant + zoneOffsetMs(instant, timeZone)) === wholeSeconds(asUtc)).sort((a, b) => a - b)
}

/**
 * The instant at which the zone's clocks show this wall time: the earlier one in a fall-back
 * hour, and in a spring-forward gap the moment the clocks jump to (02:30 → 03:30), never
 * earlier than what was typed.
 */
export function wallTimeToInstant(wall: WallTime, timeZone: string): number {
  const instants = wallTimeInstants(wall, timeZone)
  if (instants.length) return instants[0]!
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.ms ?? 0)
  return Math.max(asUtc - zoneOffsetMs(asUtc - 86_400_000, timeZone), asUtc - zoneOffsetMs(asUtc + 86_400_000, timeZone))
}
