import type {Announcement} from './announcement.js'
import type {CoreContext} from './context.js'
import {approvalsOf, mustGet, refuseRejected} from './approval.js'
import {checkCron, cronOccurrences} from './cron.js'
import {PolicyRefusal, UsageError} from './errors.js'
import {emptyAudienceProblems} from './area-reach.js'
import {newId, shortId} from './ids.js'
import {transition} from './lifecycle.js'
import {approvalShortfall} from './policy/approvals.js'
import {blockingFindings, type Finding} from './policy/check.js'
import {judgeAnnouncement} from './policy/judge.js'
import {formatInZone, parseUntil, parseWhen} from './when.js'
import {refuseStaleUpdate} from './follow-up.js'
import {parseDuration} from './duration.js'
import {scheduleZone, zoneOffsetMs} from './time-zone.js'
import type {Schedule} from '../store/schedules.js'

export interface ScheduleRequest {
  at?: string
  cron?: string
  tz?: string
  until?: string
}

export interface ScheduleResult {
  announcement: Announcement
  schedule: Schedule
  /** The next occurrences (one for --at), for the echo. */
  next: number[]
  /** What the words were understood as (for --at). */
  understood?: string
  /** Policy warnings (errors refuse the schedule). */
  findings: Finding[]
}

export const defaultGraceMs = 15 * 60_000

/** A missed occurrence still fires when it is at most this late (config scheduling.grace). */
export function graceMs(ctx: CoreContext): number {
  const text = ctx.config.scheduling?.grace
  return (text ? parseDuration(text) : undefined) ?? defaultGraceMs
}

/**
 * Schedules an announcement once (--at) or on a cron (--cron, --tz, --until). Scheduling needs
 * exactly what broadcasting needs: the lifecycle, the approvals and the policy check.
 */
export function scheduleAnnouncement(ctx: CoreContext, id: string, request: ScheduleRequest): ScheduleResult {
  if (request.at && request.cron) throw new UsageError('give --at or --cron, not both')
  if (!request.at && !request.cron) throw new UsageError('give --at WHEN (once) or --cron EXPR (recurring)')
  if (request.at && request.until) throw new UsageError('--until is for --cron schedules')
  const timeZone = scheduleZone(request.tz ?? ctx.config.timezone, request.tz !== undefined ? '--tz' : ctx.config.timezoneNamed ? 'timezone in config.yaml' : "this machine's time zone")
  const now = ctx.now()
  let next: number[]
  let understood: string | undefined
  let untilAt: number | null = null
  if (request.at) {
    const when = parseWhen(request.at, now, timeZone)
    next = [when.at]
    understood = when.understood
  } else {
    checkCron(request.cron!, timeZone)
    if (request.until) {
      untilAt = parseUntil(request.until, now, timeZone).at
    }
    next = cronOccurrences(request.cron!, timeZone, now, 3, untilAt)
    if (next.length === 0) throw new UsageError(`--until ${request.until} is before the first occurrence of "${request.cron}" — nothing would fire`)
  }

  return ctx.store.transaction(() => {
    const announcement = mustGet(ctx, id)
    const state = transition(announcement.state, 'schedule', shortId(id))
    // Refused now, as broadcast would refuse it, not found missed at the due time.
    refuseStaleUpdate(ctx, announcement)
    refuseRejected(ctx, announcement, 'schedule')
    const approvals = approvalsOf(ctx, announcement)
    if (!approvals.satisfied) {
      throw new PolicyRefusal(approvalShortfall(announcement, approvals, 'be scheduled'))
    }
    // Judged at the time(s) it will go out: quiet hours at 07:30 tomorrow, not now.
    // A cron is judged over a week of its firings (at most 2,016: a day and a half of a minutely
    // one), not the three it echoes: quiet hours are a time of day, and an occurrence refused at
    // 03:00 every night would be "missed" and exit 4 every night.
    // A sparse cron (monthly) has fewer in the week than the three it echoes: those, then.
    const week = request.cron === undefined ? next : cronOccurrences(request.cron, timeZone, now, 2016, Math.min(untilAt ?? Infinity, now + 8 * 86_400_000))
    // In a zone other than policy's, a clock change in either moves its firings against quiet
    // hours: those of the day or so after each change in the coming year are judged too.
    const afterClockChanges = request.cron === undefined ? [] : firingsAfterClockChanges(request.cron, timeZone, ctx.config.timezone, now, untilAt)
    const judgedAt = [...(week.length > next.length ? week : next), ...afterClockChanges]
    const {findings} = judgeAnnouncement(ctx, announcement, now, {sendAt: judgedAt, ...(request.cron !== undefined && {cron: request.cron})})
    const blocking = blockingFindings(findings)
    if (blocking.length) throw new PolicyRefusal(`refused by policy — ${blocking.map((f) => f.message).join('; ')}`)
    // It would fire and send nowhere (the occurrence recorded missed): said now, not at the due time.
    const [emptyAudience] = emptyAudienceProblems(ctx, announcement)
    if (emptyAudience) throw new UsageError(emptyAudience)
    if (request.at && announcement.expiresAt !== undefined && announcement.expiresAt <= next[0]!) {
      throw new PolicyRefusal(`${shortId(id)} expires (${formatInZone(announcement.expiresAt, timeZone)}) before it is due — set a later --expires with crier edit`)
    }
    const schedule: Omit<Schedule, 'endedAt' | 'endReason'> = {
      id: newId(now),
      announcementId: id,
      kind: request.at ? 'once' : 'cron',
      cron: request.cron ?? null,
      timeZone,
      untilAt,
      nextDueAt: next[0]!,
      graceMs: graceMs(ctx),
      createdBy: ctx.user,
      createdAt: now,
    }
    ctx.store.schedules.insert(schedule)
    ctx.store.announcements.setState(id, state, now)
    return {announcement: {...announcement, state}, schedule: {...schedule, endedAt: null, endReason: null}, next, understood, findings}
  })
}

export function unscheduleAnnouncement(ctx: CoreContext, id: string): Announcement {
  return ctx.store.transaction(() => {
    const announcement = mustGet(ctx, id)
    const schedule = ctx.store.schedules.activeFor(id)
    if (!schedule) throw new PolicyRefusal(`${shortId(id)} is not scheduled (it is ${announcement.state.replace('_', ' ')}) — there is nothing to unschedule; crier status ${shortId(id)} shows what it is doing`)
    const now = ctx.now()
    const state = transition(announcement.state, 'unschedule', shortId(id))
    ctx.store.schedules.end(schedule.id, now, `unscheduled by ${ctx.user}`)
    ctx.store.announcements.setState(id, state, now)
    return {...announcement, state}
  })
}

/** A cron's firings in the two days after each clock change (relativeOffsetChanges) in the coming year; none in policy's own zone. */
function firingsAfterClockChanges(cron: string, zone: string, policyZone: string, now: number, until: number | null): number[] {
  if (zone === policyZone) return []
  const day = 86_400_000
  return relativeOffsetChanges(zone, policyZone, now, until).flatMap((change) => cronOccurrences(cron, zone, change, 1440, Math.min(until ?? Infinity, change + 2 * day)))
}

/**
 * When, in the coming year (or until `until`), the offset between two zones changes — a clock
 * change in either: found day by day, each a day before the first reading with the new offset.
 */
function relativeOffsetChanges(zone: string, policyZone: string, now: number, until: number | null): number[] {
  const day = 86_400_000
  const relative = (at: number) => zoneOffsetMs(at, zone) - zoneOffsetMs(at, policyZone)
  const changes: number[] = []
  let current = relative(now)
  for (let at = now + day; at <= Math.min(now + 366 * day, until ?? Infinity); at += day) {
    const offset = relative(at)
    if (offset !== current) changes.push(at - day)
    current = offset
  }
  return changes
}
