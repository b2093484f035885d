import type {Announcement} from '../core/announcement.js'
import type {CoreContext} from '../core/context.js'
import {cronDueSince, type DueOccurrences} from '../core/cron.js'
import {graceMs} from '../core/scheduling.js'
import {CrierError} from '../core/errors.js'
import {newId, shortId} from '../core/ids.js'
import {transition} from '../core/lifecycle.js'
import {formatSpan} from '../core/span.js'
import {namedWallClock} from '../core/policy/quiet-hours.js'
import type {Schedule} from '../store/schedules.js'
import {fanOut} from './fan-out.js'

// Firing schedules. Each due schedule is handled in one transaction that moves its
// next_due_at on only if it still holds the value read (so of two overlapping `crier run`s
// exactly one fires it), records the occurrence (unique per schedule and due time) and fans
// the announcement out. After downtime, the latest missed occurrence fires if it is within the
// grace period; every other one is recorded as `missed` — never dropped, never a backlog.

export interface SchedulerEvent {
  kind: 'fired' | 'missed'
  scheduleId: string
  templateId: string
  dueAt: number
  /** The announcement sent for this occurrence. */
  announcementId?: string
  reason?: string
}

/** Missed occurrences recorded one by one; beyond them, one row for the range (a week of a minute cron is 10,080). */
const listedOccurrencesPerPass = 100

export function fireDueSchedules(ctx: CoreContext, onEvent?: (event: SchedulerEvent) => void): SchedulerEvent[] {
  const events: SchedulerEvent[] = []
  const now = ctx.now()
  for (const schedule of ctx.store.schedules.dueAt(now)) {
    const fired = ctx.store.transaction(() => fireOne(ctx, schedule, now))
    for (const event of fired) {
      events.push(event)
      onEvent?.(event)
    }
  }
  return events
}

function fireOne(ctx: CoreContext, schedule: Schedule, now: number): SchedulerEvent[] {
  const first = schedule.nextDueAt!
  // Every occurrence due by now, and the first one after.
  const due = [first]
  let next: number | null = null
  let unlisted: DueOccurrences['unlisted']
  if (schedule.kind === 'cron') {
    const since = cronDueSince(schedule.cron!, schedule.timeZone, first, now, schedule.untilAt, listedOccurrencesPerPass)
    due.push(...since.due)
    next = since.next
    unlisted = since.unlisted
  }
  if (!ctx.store.schedules.advance(schedule.id, first, next, now, next === null ? 'last occurrence' : null)) return [] // another process has it

  const template = ctx.store.announcements.get(schedule.announcementId)!
  const events: SchedulerEvent[] = []
  const latest = due.at(-1)!
  const base = {scheduleId: schedule.id, templateId: template.id}
  const missed = (dueAt: number, reason: string) => {
    ctx.store.schedules.recordOccurrence({scheduleId: schedule.id, dueAt, state: 'missed', announcementId: null, recordedAt: now, reason})
    events.push({kind: 'missed', ...base, dueAt, reason})
  }
  // Times in a reason in the configured zone, named, as policy's are: the dashboard's lines are in it too.
  const at = (instant: number) => namedWallClock(instant, ctx.config.timezone)
  for (const dueAt of due.slice(0, -1)) missed(dueAt, `missed: crier was not running (a later occurrence, ${at(latest)}, was due too)`)
  // The rest of a long outage: one row for the range, so none goes unrecorded and cron's mail is not thousands of lines.
  if (unlisted) missed(unlisted.from, `missed: crier was not running — this and every occurrence after it before ${at(unlisted.before)}`)
  const lateBy = now - latest
  // The grace in force (config scheduling.grace as it is now), not the one when it was
  // scheduled: an admin who raises it after missed occurrences means it for what is scheduled.
  const grace = graceMs(ctx)
  if (lateBy > grace) {
    missed(latest, `missed: due ${formatSpan(lateBy)} ago, beyond the ${formatSpan(grace)} grace period`)
  } else {
    events.push(fireOccurrence(ctx, schedule, template, latest, now))
  }
  // A recurring announcement is done when its last occurrence has passed; a one-off became its own send.
  if (schedule.kind === 'cron' && next === null && template.state === 'scheduled') {
    ctx.store.announcements.setState(template.id, transition('scheduled', 'complete-schedule'), now)
  }
  if (schedule.kind === 'once' && events.at(-1)?.kind === 'missed' && ctx.store.announcements.get(template.id)?.state === 'scheduled') {
    // It did not go: back to approved, where the officer sees it and can broadcast or reschedule —
    // or, past its expiry, expired: approved would read as ready to send.
    const expired = template.expiresAt !== undefined && template.expiresAt <= now
    ctx.store.announcements.setState(template.id, transition('scheduled', expired ? 'expire' : 'unschedule'), now)
  }
  return events
}

function fireOccurrence(ctx: CoreContext, schedule: Schedule, template: Announcement, dueAt: number, now: number): SchedulerEvent {
  const base = {scheduleId: schedule.id, templateId: template.id, dueAt}
  // One-off: the announcement itself goes. Recurring: each occurrence is its own announcement
  // (own id and CAP identifier), so every week's bulletin is a separate, auditable send.
  const announcementId = schedule.kind === 'once' ? template.id : newId(now)
  try {
    // A savepoint: a refusal undoes the clone and the fan-out, not the advanced schedule.
    ctx.store.transaction(() => {
      if (schedule.kind === 'cron') cloneForOccurrence(ctx, schedule, template, announcementId, dueAt, now)
      fanOut(ctx, announcementId, {approvedAs: schedule.kind === 'cron' ? template.id : undefined})
    })
  } catch (error) {
    if (!(error instanceof CrierError)) throw error
    // A recurring one's copy was rolled back with its fan-out: what is to be done is done to the template.
    const reason = `missed: ${schedule.kind === 'cron' ? namingInstead(error.message, announcementId, template.id) : error.message}`
    ctx.store.schedules.recordOccurrence({scheduleId: schedule.id, dueAt, state: 'missed', announcementId: null, recordedAt: now, reason})
    return {kind: 'missed', ...base, reason}
  }
  ctx.store.schedules.recordOccurrence({scheduleId: schedule.id, dueAt, state: 'fired', announcementId, recordedAt: now, reason: null})
  return {kind: 'fired', ...base, announcementId}
}

function cloneForOccurrence(ctx: CoreContext, schedule: Schedule, template: Announcement, id: string, dueAt: number, now: number): void {
  // The template's expiry, kept as a span: expiring 6 h after scheduling means 6 h after each firing.
  const expiresAt = template.expiresAt === undefined ? undefined : dueAt + Math.max(0, template.expiresAt - schedule.createdAt)
  ctx.store.announcements.insert({
    ...template,
    id,
    identifier: `crier-${id}`,
    state: 'approved',
    expiresAt,
    effectiveAt: dueAt,
    createdAt: now,
    updatedAt: now,
    sentAt: undefined,
    rejectReason: undefined,
  })
}

/** `message` with `id` (whole, or as the short id messages use) named as `instead`. */
function namingInstead(message: string, id: string, instead: string): string {
  return message.split(id).join(instead).split(shortId(id)).join(shortId(instead))
}
