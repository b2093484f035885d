import {atomically, type AuditTrail} from './audit.js'
import type {Db} from './open.js'

// Schedules and occurrences: one table family. Times are epoch ms; a schedule whose
// next_due_at is NULL has ended (fired once, passed --until, or unscheduled).

export interface Schedule {
  id: string
  announcementId: string
  kind: 'once' | 'cron'
  cron: string | null
  timeZone: string
  untilAt: number | null
  nextDueAt: number | null
  graceMs: number
  createdBy: string
  createdAt: number
  endedAt: number | null
  endReason: string | null
}

export interface OccurrenceRow {
  scheduleId: string
  dueAt: number
  state: 'fired' | 'missed'
  announcementId: string | null
  recordedAt: number
  reason: string | null
}

const columns = `id, announcement_id AS announcementId, kind, cron, time_zone AS timeZone, until_at AS untilAt,
  next_due_at AS nextDueAt, grace_ms AS graceMs, created_by AS createdBy, created_at AS createdAt,
  ended_at AS endedAt, end_reason AS endReason`

const isoTime = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

export function scheduleStore(db: Db, audit: AuditTrail) {
  const insert = db.prepare(`INSERT INTO schedule (id, announcement_id, kind, cron, time_zone, until_at, next_due_at, grace_ms, created_by, created_at)
    VALUES (@id, @announcementId, @kind, @cron, @timeZone, @untilAt, @nextDueAt, @graceMs, @createdBy, @createdAt)`)
  const due = db.prepare(`SELECT ${columns} FROM schedule WHERE next_due_at IS NOT NULL AND next_due_at <= ? ORDER BY next_due_at LIMIT 100`)
  const nextDue = db.prepare(`SELECT min(next_due_at) FROM schedule WHERE next_due_at IS NOT NULL`).pluck()
  const activeFor = db.prepare(`SELECT ${columns} FROM schedule WHERE announcement_id = ? AND next_due_at IS NOT NULL`)
  const latestFor = db.prepare(`SELECT ${columns} FROM schedule WHERE announcement_id = ? ORDER BY created_at DESC LIMIT 1`)
  // Only the process that moves next_due_at from the value it read fires the occurrence.
  const advance = db.prepare(`UPDATE schedule SET next_due_at = @next, ended_at = CASE WHEN @next IS NULL THEN @now ELSE NULL END,
      end_reason = CASE WHEN @next IS NULL THEN @reason ELSE NULL END
    WHERE id = @id AND next_due_at = @from`)
  const end = db.prepare(`UPDATE schedule SET next_due_at = NULL, ended_at = @now, end_reason = @reason WHERE id = @id AND next_due_at IS NOT NULL`)
  const announcementOf = db.prepare(`SELECT announcement_id FROM schedule WHERE id = ?`).pluck()
  const record = db.prepare(`INSERT INTO occurrence (schedule_id, due_at, state, announcement_id, recorded_at, reason)
    VALUES (@scheduleId, @dueAt, @state, @announcementId, @recordedAt, @reason) ON CONFLICT DO NOTHING`)
  const occurrencesOf = db.prepare(`SELECT o.schedule_id AS scheduleId, o.due_at AS dueAt, o.state, o.announcement_id AS announcementId,
      o.recorded_at AS recordedAt, o.reason FROM occurrence o JOIN schedule s ON s.id = o.schedule_id
    WHERE s.announcement_id = ? ORDER BY o.due_at`)
  const recentMissed = db.prepare(`SELECT o.schedule_id AS scheduleId, o.due_at AS dueAt, o.state, o.announcement_id AS announcementId,
      o.recorded_at AS recordedAt, o.reason, s.announcement_id AS templateId FROM occurrence o JOIN schedule s ON s.id = o.schedule_id
    WHERE o.state = 'missed' AND o.recorded_at >= ? ORDER BY o.due_at DESC LIMIT 50`)
  const missedCount = db.prepare(`SELECT count(*) FROM occurrence WHERE state = 'missed' AND recorded_at >= ?`).pluck()
  const stillFiring = db.prepare(`SELECT ${columns} FROM schedule
    WHERE next_due_at IS NOT NULL AND id IN (SELECT schedule_id FROM occurrence WHERE announcement_id = ?)`)

  return {
    insert(schedule: Omit<Schedule, 'endedAt' | 'endReason'>): void {
      atomically(db, () => {
        insert.run(schedule)
        audit.append({
          action: 'scheduled',
          subject: schedule.announcementId,
          actor: schedule.createdBy,
          at: schedule.createdAt,
          details: {scheduleId: schedule.id, kind: schedule.kind, cron: schedule.cron, timeZone: schedule.timeZone, nextDueAt: isoTime(schedule.nextDueAt), until: isoTime(schedule.untilAt)},
        })
      })
    },
    dueAt(now: number): Schedule[] {
      return due.all(now) as Schedule[]
    },
    nextDueAt(): number | null {
      return nextDue.get() as number | null
    },
    activeFor(announcementId: string): Schedule | undefined {
      return activeFor.get(announcementId) as Schedule | undefined
    },
    latestFor(announcementId: string): Schedule | undefined {
      return latestFor.get(announcementId) as Schedule | undefined
    },
    /** Moves a schedule on from `from`; false when another process already did (it fired it). */
    advance(id: string, from: number, next: number | null, now: number, reason: string | null): boolean {
      return advance.run({id, from, next, now, reason}).changes === 1
    },
    end(id: string, now: number, reason: string): boolean {
      return atomically(db, () => {
        if (end.run({id, now, reason}).changes !== 1) return false
        audit.append({action: 'schedule-ended', subject: announcementOf.get(id) as string, at: now, details: {scheduleId: id, reason}})
        return true
      })
    },
    /** Records an occurrence once; false when it was already recorded. */
    recordOccurrence(row: OccurrenceRow): boolean {
      return atomically(db, () => {
        if (record.run(row).changes !== 1) return false
        audit.append({
          action: row.state === 'fired' ? 'occurrence-fired' : 'occurrence-missed',
          subject: announcementOf.get(row.scheduleId) as string,
          at: row.recordedAt,
          details: {scheduleId: row.scheduleId, dueAt: isoTime(row.dueAt), ...(row.announcementId ? {sent: row.announcementId} : {}), ...(row.reason ? {reason: row.reason} : {})},
        })
        return true
      })
    },
    occurrencesOf(announcementId: string): OccurrenceRow[] {
      return occurrencesOf.all(announcementId) as OccurrenceRow[]
    },
    /** The newest 50 missed occurrences recorded since `since`; missedCountSince says how many there are. */
    missedSince(since: number): Array<OccurrenceRow & {templateId: string}> {
      return recentMissed.all(since) as Array<OccurrenceRow & {templateId: string}>
    },
    /** The schedule that fired this announcement as one of its occurrences, while it still fires. */
    stillFiringFor(occurrenceId: string): Schedule | undefined {
      return stillFiring.get(occurrenceId) as Schedule | undefined
    },
    missedCountSince(since: number): number {
      return missedCount.get(since) as number
    },
  }
}
