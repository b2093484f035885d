import {wallTimeToInstant, zoneOffsetMs} from '../time-zone.js'

// Quiet hours: a time-of-day range in the configured zone, which may wrap midnight (22:00–07:00).
// Times are the zone's wall clock, so the range moves with DST as people's nights do.

export interface QuietHoursRange {
  from: string
  to: string
}

const dayMs = 86_400_000

function minutesOf(time: string): number {
  const [hours, minutes] = time.split(':').map(Number) as [number, number]
  return hours * 60 + minutes
}

interface LocalTime {
  year: number
  month: number
  day: number
  minutes: number
}

function localTime(instant: number, timeZone: string): LocalTime {
  const shifted = new Date(instant + zoneOffsetMs(instant, timeZone))
  const sinceMidnight = ((shifted.getTime() % dayMs) + dayMs) % dayMs
  return {year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate(), minutes: Math.floor(sinceMidnight / 60_000)}
}

/** Whether the zone's clocks at this instant show a time inside [from, to). */
export function inQuietHours(instant: number, range: QuietHoursRange, timeZone: string): boolean {
  const now = localTime(instant, timeZone).minutes
  const from = minutesOf(range.from)
  const to = minutesOf(range.to)
  return from < to ? now >= from && now < to : now >= from || now < to
}

/** When the quiet hours that contain this instant end. */
export function quietHoursEnd(instant: number, range: QuietHoursRange, timeZone: string): number {
  const local = localTime(instant, timeZone)
  const to = minutesOf(range.to)
  // Past the evening start of a range that wraps midnight: it ends tomorrow morning.
  const tomorrow = minutesOf(range.from) > to && local.minutes >= minutesOf(range.from)
  const date = new Date(Date.UTC(local.year, local.month - 1, local.day + (tomorrow ? 1 : 0)))
  return wallTimeToInstant({year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour: Math.floor(to / 60), minute: to % 60, second: 0}, timeZone)
}

/** "2026-11-26 07:00": the zone's wall clock, as policy's messages show it. */
export function wallClock(instant: number, timeZone: string): string {
  return localIsoMinute(instant, timeZone).replace('T', ' ')
}

/** "2026-11-26 07:00 Europe/London": the wall clock with its zone named, as a stored reason shows a time. */
export function namedWallClock(instant: number, timeZone: string): string {
  return `${wallClock(instant, timeZone)} ${timeZone}`
}

/** "2026-11-26T07:00": the zone's wall clock, as `crier schedule --at` reads it back. */
export function localIsoMinute(instant: number, timeZone: string): string {
  return new Date(instant + zoneOffsetMs(instant, timeZone)).toISOString().slice(0, 16)
}
