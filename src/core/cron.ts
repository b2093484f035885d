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
  // cron-parser reads H as a random value each time it parses: what is echoed and checked now
  // would not be when it fires.
  if (/(?:^|[\s,])H(?=$|[\s,(/])/i.test(expression.trim())) {
    throw new UsageError(`--cron "${expression}" uses H, a different minute or hour each time it is read — give the time itself, e.g. "20 10 * * *"`)
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

/** What cronDueSince found due: listed one by one up to its cap, then the gap, then the latest. */
export interface DueOccurrences {
  /** In order; the last is the latest occurrence due by `now`. */
  due: number[]
  /** The first occurrence after `now` (null: none before `until`). */
  next: number | null
  /** Occurrences from `from` up to (not including) the last of `due`, beyond the cap: not listed one by one. */
  unlisted?: {from: number; before: number}
}

/**
 * Occurrences after `first` up to `now`, and the first one after `now`. Steps one occurrence
 * at a time up to `cap` (computing far ahead is slow: a yearly job, 1000 occurrences: seconds,
 * under the write lock); past the cap the rest are a range and the latest is found backwards
 * from `now` — so a minute cron after a week's downtime still knows the one due a moment ago.
 */
export function cronDueSince(expression: string, timeZone: string, first: number, now: number, until: number | null, cap: number): DueOccurrences {
  const iterator = CronExpressionParser.parse(expression, {tz: timeZone, currentDate: new Date(first), endDate: until ? new Date(until) : undefined})
  const due: number[] = []
  while (iterator.hasNext()) {
    const at = iterator.next().getTime()
    if (at > now) return {due, next: at}
    if (due.length === cap) {
      const next = cronOccurrences(expression, timeZone, now, 1, until)[0] ?? null
      const latest = latestBy(expression, timeZone, Math.min(now, until ?? Infinity))
      if (latest <= at) return {due: [...due, at], next}
      return {due: [...due, latest], next, unlisted: {from: at, before: latest}}
    }
    due.push(at)
  }
  return {due, next: null}
}

/** The latest occurrence at or before `by`. */
function latestBy(expression: string, timeZone: string, by: number): number {
  return CronExpressionParser.parse(expression, {tz: timeZone, currentDate: new Date(by + 1)}).prev().getTime()
}
