import type {Announcement} from './announcement.js'
import type {CoreContext} from './context.js'

/** The one occurrence of a one-off schedule, missed: when it was due and why it did not go. */
export interface MissedOneOff {
  dueAt: number
  reason: string
}

/**
 * Where a one-off schedule's only occurrence was missed and nothing has been done since (no
 * schedule now, not sent): what `show` and `status` of it say, so the officer who scheduled
 * it does not read "not sent yet" as "still to come".
 */
export function missedOneOff(ctx: Pick<CoreContext, 'store'>, announcement: Announcement): MissedOneOff | undefined {
  if (announcement.state !== 'approved' && announcement.state !== 'expired' && announcement.state !== 'pending_approval') return undefined
  const schedule = ctx.store.schedules.latestFor(announcement.id)
  if (!schedule || schedule.kind !== 'once' || schedule.nextDueAt !== null) return undefined
  const last = ctx.store.schedules.occurrencesOf(announcement.id).filter((occurrence) => occurrence.scheduleId === schedule.id).at(-1)
  return last?.state === 'missed' ? {dueAt: last.dueAt, reason: last.reason ?? 'missed'} : undefined
}
