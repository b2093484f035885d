import * as chrono from 'chrono-node'
import {UsageError} from './errors.js'
import {parseIsoTime} from './time-input.js'
import {wallTimeToInstant, zoneOffsetMs} from './time-zone.js'

// WHEN for `crier schedule --at`: ISO 8601, or plain words ("tomorrow 07:30", "in 2 hours",
// "next Monday 9am") read in the configured time zone. chrono-node reads the words; it knows
// time zones only as abbreviations, so it is given the zone's wall clock as if it were local
// time, and its answer is converted back with the zone's rules (DST included).

export interface ResolvedWhen {
  at: number
  /** What was understood, for the echo: chrono's matched text, or the ISO text. */
  understood: string
}

export function parseWhen(text: string, now: number, timeZone: string): ResolvedWhen {
  const trimmed = text.trim()
  const iso = parseIsoTime(trimmed, timeZone)
  if (iso !== undefined) return checked({at: iso, understood: trimmed}, now, text)

  // The zone's wall clock "now", expressed in this process's local time for chrono.
  const wallNow = now + zoneOffsetMs(now, timeZone)
  const asLocal = new Date(wallNow + new Date(wallNow).getTimezoneOffset() * 60_000)
  const [result] = chrono.parse(trimmed, asLocal, {forwardDate: true})
  if (!result || result.index !== 0 || result.text.trim().length !== trimmed.length) {
    throw new UsageError(`--at "${text}" is not a time crier understands — use ISO 8601 (2026-11-26T07:30) or words like "tomorrow 07:30", "in 2 hours", "next Monday 9am"`)
  }
  const start = result.start
  const relative = /^\s*in\s/i.test(trimmed)
  if (!relative && !start.isCertain('hour')) {
    throw new UsageError(`--at "${text}" has no time of day — say it, e.g. "${trimmed} 07:30"`)
  }
  const at = relative
    ? now + (start.date().getTime() - asLocal.getTime())
    : wallTimeToInstant(
        {year: start.get('year')!, month: start.get('month')!, day: start.get('day')!, hour: start.get('hour')!, minute: start.get('minute') ?? 0, second: start.get('second') ?? 0},
        timeZone,
      )
  return checked({at, understood: result.text}, now, text)
}

function checked(resolved: ResolvedWhen, now: number, text: string): ResolvedWhen {
  if (resolved.at <= now) throw new UsageError(`--at "${text}" is in the past (${new Date(resolved.at).toISOString()}) — give a later time`)
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
