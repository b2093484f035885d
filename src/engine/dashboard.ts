import {primaryVariant, type Announcement} from '../core/announcement.js'
import type {CoreContext} from '../core/context.js'
import {cronOccurrences} from '../core/cron.js'
import {approvalsOf} from '../core/approval.js'
import {supersededBy, type Superseded} from '../core/superseded.js'
import type {OccurrenceRow} from '../store/schedules.js'
import {announcementStatus, type AnnouncementStatus} from './status.js'

// `crier status` without an ID: the duty officer's first look at the start of a shift. What is
// going out now, what goes out next, what waits for someone's approval, and what went wrong in
// the last 24 hours (dead or unknown deliveries, missed occurrences).

/** An announcement as the dashboard names it. */
export interface AnnouncementRef {
  id: string
  headline: string
  severity: Announcement['severity']
  /** CAP status: a drill is marked as one wherever it is listed. */
  status: Announcement['status']
  state: Announcement['state']
}

/** A Cancel drafted but not yet gone out: the original is withdrawn, the public not told. */
export interface UntoldCancel {
  cancel: AnnouncementRef
  original: AnnouncementRef
  /** The Cancel was rejected: it waits for its author to change it. */
  rejectReason?: string
  /** The Cancel went out but did not reach these channels (deliveries dead): there the public still holds the original. */
  notReached?: string[]
}

export interface UpcomingOccurrence {
  at: number
  scheduleId: string
  kind: 'once' | 'cron'
  cron: string | null
  timeZone: string
  announcement: AnnouncementRef
}

export interface AwaitingApproval {
  announcement: AnnouncementRef
  author: string
  /** Who edited it, where policy keeps writers from approving. */
  editors: string[]
  required: number
  approvedBy: string[]
}

/** What went wrong, and — for an announcement a Cancel or Update replaced since — by what (not to be chased or retried). */
export interface TroubleItem extends Superseded {
  announcement: AnnouncementRef
  channel: string
  state: 'dead' | 'unknown' | 'expired'
  count: number
  lastAt: number
  /** One of their errors, as stored: strip before display. */
  error: string | null
}

/** Sent by emergency override, not yet reviewed by another officer. */
export interface UnreviewedOverride {
  announcement: AnnouncementRef
  by: string
  at: number
  reason: string
}

export interface ShiftDashboard {
  sending: AnnouncementStatus[]
  scheduled: UpcomingOccurrence[]
  /** Active schedules beyond those shown (crier list --status scheduled has them all). */
  scheduledNotShown: number
  awaitingApproval: AwaitingApproval[]
  trouble: TroubleItem[]
  /** The newest 50. */
  missedOccurrences: Array<OccurrenceRow & {templateId: string}>
  /** How many were recorded missed in the last 24 h, listed or not. */
  missedOccurrencesCount: number
  untoldCancels: UntoldCancel[]
  unreviewedOverrides: UnreviewedOverride[]
}

const dayMs = 24 * 3600_000
/** Drafts older than this are not shown as waiting for approval. */
const draftWindowMs = 7 * dayMs
/** The next few occurrences, across every schedule: each schedule's next, then more of the soonest. */
const upcomingCount = 5
/** Schedules with a row of their own, at most; the rest are counted (scheduledNotShown). */
const scheduleRowsMax = 10

export function shiftDashboard(ctx: CoreContext): ShiftDashboard {
  const now = ctx.now()
  const since = now - dayMs
  const {store} = ctx
  const refs = new Map<string, AnnouncementRef | undefined>()
  const ref = (id: string): AnnouncementRef | undefined => {
    if (!refs.has(id)) {
      const announcement = store.announcements.get(id)
      refs.set(id, announcement && {id, headline: primaryVariant(announcement).headline, severity: announcement.severity, status: announcement.status, state: announcement.state})
    }
    return refs.get(id)
  }

  const sending = store.announcements.list({states: ['sending']}).map((a) => announcementStatus(ctx, a.id))

  // Every schedule its next occurrence (a frequent cron must not hide tomorrow's one-off), then
  // the soonest later occurrences while there is room.
  const nextOfEach: UpcomingOccurrence[] = []
  const later: UpcomingOccurrence[] = []
  const schedules = store.dashboard.upcomingSchedules(scheduleRowsMax)
  for (const schedule of schedules) {
    const announcement = ref(schedule.announcementId)
    if (!announcement || schedule.nextDueAt === null) continue
    const occurrence = (at: number): UpcomingOccurrence => ({at, scheduleId: schedule.id, kind: schedule.kind, cron: schedule.cron, timeZone: schedule.timeZone, announcement})
    nextOfEach.push(occurrence(schedule.nextDueAt))
    if (schedule.kind === 'cron' && schedule.cron) later.push(...cronOccurrences(schedule.cron, schedule.timeZone, schedule.nextDueAt, upcomingCount - 1, schedule.untilAt).map(occurrence))
  }
  later.sort((a, b) => a.at - b.at)
  const scheduled = [...nextOfEach, ...later.slice(0, Math.max(0, upcomingCount - nextOfEach.length))].sort((a, b) => a.at - b.at)
  const scheduledNotShown = schedules.length < scheduleRowsMax ? 0 : store.dashboard.activeScheduleCount() - schedules.length

  // Partly approved ones, and drafts of the last week that cannot go without an approval they
  // do not have yet: both wait for a second pair of eyes. Older drafts are left to crier list.
  const candidates = [...store.announcements.list({states: ['pending_approval']}), ...store.announcements.list({states: ['draft'], since: now - draftWindowMs})]
  const awaitingApproval = candidates.flatMap((a) => {
    const approvals = approvalsOf(ctx, a)
    // A rejected text waits for its author's edit, not for an approver (approve refuses it).
    if (approvals.satisfied || a.rejectReason) return []
    return [{announcement: ref(a.id)!, author: a.author, editors: approvals.authorMayApprove ? [] : (approvals.editors ?? []), required: approvals.required, approvedBy: approvals.valid.map((approval) => approval.approver)}]
  })

  const groups = store.dashboard.troubleSince(since)
  const replaced = supersededBy(ctx, [...new Set(groups.map((group) => group.announcementId))])
  const trouble = groups.flatMap((group) => {
    const announcement = ref(group.announcementId)
    return announcement ? [{announcement, channel: group.channel, state: group.state, count: group.count, lastAt: group.lastAt, error: group.sampleError, ...replaced.get(group.announcementId)}] : []
  })

  // However old: while one waits (for approval, or for what policy refuses to be put right), the
  // public still holds what was withdrawn.
  const untoldCancels: UntoldCancel[] = store.announcements.list({states: ['draft', 'pending_approval', 'approved'], msgType: 'Cancel'}).flatMap((a) => {
    const original = a.references ? ref(a.references) : undefined
    return original ? [{cancel: ref(a.id)!, original, ...(a.rejectReason && {rejectReason: a.rejectReason})}] : []
  })
  // Sent, but dead on a channel: there the public still holds it. A week of them, as of drafts:
  // one to a channel gone for good would stand here for ever.
  for (const a of store.announcements.list({states: ['sent_with_failures'], msgType: 'Cancel', since: now - draftWindowMs})) {
    const original = a.references ? ref(a.references) : undefined
    const notReached = store.deliveries.countsByChannel(a.id).flatMap((counts) => (counts.dead > 0 ? [counts.channel] : []))
    if (original && notReached.length) untoldCancels.push({cancel: ref(a.id)!, original, notReached})
  }

  // However old, as list and audit flag them: one officer's judgement waits for a second.
  const unreviewedOverrides = store.announcements.unreviewedOverrides().flatMap((a) => (a.override ? [{announcement: ref(a.id)!, by: a.override.by, at: a.override.at, reason: a.override.reason}] : []))

  return {sending, scheduled, scheduledNotShown, awaitingApproval, trouble, missedOccurrences: store.schedules.missedSince(since), missedOccurrencesCount: store.schedules.missedCountSince(since), untoldCancels, unreviewedOverrides}
}
