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
