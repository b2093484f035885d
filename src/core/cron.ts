import {CronExpressionParser} from 'cron-parser'
import {UsageError} from './errors.js'

// Cron schedules in an IANA time zone. cron-parser handles DST: a 02:30 job on a
// spring-forward day fires once (at the first valid time after), on a fall-back day once.

/** Five fields, minute to weekday; seconds or years are refused so nobody gets surprised. */
export function checkCron(expression: string, timeZone: string): void {
  const fields = expression.trim().split(/\s+/)
  if (fields.length !== 5) {
    throw new UsageError(`--cron "${expression}" has ${fields.length} fields — use five: minute hour day-of-month month day-of-week, e.g. "0 8 * * TUE"`)
  }
  try {
    CronExpressionParser.parse(expression, {tz: timeZone, currentDate: new Date()})
  } catch (error) {
    throw new UsageError(`--cron "${expression}" is not valid (${(error as Error).message}) — e.g. "0 8 * * TUE"`)
  }
}

/** The first `count` occurrences strictly after `after` (and not after `until`). */
export function cronOccurrences(expression: string, timeZone: string, after: number, count: number, until?: number | null): number[] {
  const iterator = CronExpressionParser.parse(expression, {tz: timeZone, currentDate: new Date(after), endDate: until ? new Date(until) : undefined})
  const out: number[] = []
  while (out.length < count && iterator.hasNext()) out.push(iterator.next().getTime())
  return out
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', {timeZone: zone})
    return true
  } catch {
    return false
  }
}

/**
 * Occurrences after `first` up to `now` (at most `cap`: a minute cron after a week's downtime
 * need not list ten thousand), and the first one after `now`. Steps one occurrence at a time:
 * computing far ahead is slow (a yearly job, 1000 occurrences: seconds, under the write lock).
 */
export function cronDueSince(expression: string, timeZone: string, first: number, now: number, until: number | null, cap: number): {due: number[]; next: number | null} {
  const iterator = CronExpressionParser.parse(expression, {tz: timeZone, currentDate: new Date(first), endDate: until ? new Date(until) : undefined})
  const due: number[] = []
  while (iterator.hasNext()) {
    const at = iterator.next().getTime()
    if (at > now) return {due, next: at}
    if (due.length === cap) return {due, next: cronOccurrences(expression, timeZone, now, 1, until)[0] ?? null}
    due.push(at)
  }
  return {due, next: null}
}
