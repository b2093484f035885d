import type {AuditTrail} from './audit.js'
import type {DeliveryState} from './deliveries.js'
import type {Db} from './open.js'
import type {Schedule} from './schedules.js'
import {writeTransaction} from './write-lock.js'

// Reads for the live view and the shift-start dashboard, cheap enough to poll four times a
// second while a 100,000-delivery broadcast is going out, and the one write the view's `r` makes.
//
// Measured on one announcement of 100,000 deliveries (58,800 sent, 1,200 failed, 40,000
// queued): deliveries.countsByChannel takes 162 ms (its GROUP BY walks every index entry, and
// its retries and last-error joins read the attempts of every delivery): at four reads a second,
// most of a core. Here, count(*) over one (announcement, state, channel) range of
// delivery_by_announcement counts index entries only, and only for the states other than
// `sent`; `sent` is the total (fixed at fan-out, counted once) less the rest. Errors come from
// the attempts written since the last read (attempt ids only grow). The live view's read: 16 ms
// the first time, 2.5 ms after, less as the broadcast goes on.

/** How many deliveries of one channel are in one state. */
export interface StateCount {
  channel: string
  state: DeliveryState
  count: number
}

/** An attempt that did not succeed, with the channel of its delivery. */
export interface FailedAttempt {
  id: number
  channel: string
  error: string
}

/** Dead, unknown or expired deliveries of one announcement and channel that ended in the window: none reached anyone for sure. */
export interface TroubleGroup {
  announcementId: string
  channel: string
  state: 'dead' | 'unknown' | 'expired'
  count: number
  lastAt: number
  /** One of their errors, as stored (strip before display). */
  sampleError: string | null
}

const scheduleColumns = `id, announcement_id AS announcementId, kind, cron, time_zone AS timeZone, until_at AS untilAt,
  next_due_at AS nextDueAt, grace_ms AS graceMs, created_by AS createdBy, created_at AS createdAt,
  ended_at AS endedAt, end_reason AS endReason`

// A dead delivery may be tried again when it died of transient failures (timeouts, 5xx, resets)
// after using up its attempts: its latest attempt was `transient`. One the provider refused
// (`permanent`: bad request, bad credentials, invalid number) would only be refused again, and
// an `unknown` one is never re-sent blindly: it may already have gone out.
const retryableDead = `d.announcement_id = @id AND d.state = 'dead' AND d.stop_reason IS NULL AND (d.expires_at IS NULL OR d.expires_at > @now)
  AND (SELECT a.outcome FROM attempt a WHERE a.delivery_id = d.id ORDER BY a.id DESC LIMIT 1) IN ('transient', 'in-doubt')`

export function dashboardStore(db: Db, audit: AuditTrail) {
  const countInState = db.prepare(`SELECT count(*) FROM delivery WHERE announcement_id = ? AND state = ? AND channel = ?`).pluck()
  const fannedOutAt = db.prepare(`SELECT created_at FROM delivery WHERE announcement_id = ? LIMIT 1`).pluck()
  const latestAttempt = db.prepare(`SELECT max(id) FROM attempt`).pluck()
  // CROSS JOIN keeps the attempt range as the outer loop: only attempts newer than the cursor
  // are read, whatever the planner guesses about the announcement's size.
  const failedBetween = db.prepare(`SELECT a.id AS id, d.channel AS channel, a.error AS error
    FROM attempt a CROSS JOIN delivery d ON d.id = a.delivery_id
    WHERE a.id > @after AND a.id <= @upTo AND a.error IS NOT NULL AND d.announcement_id = @id
    ORDER BY a.id`)
  const standingError = db.prepare(`SELECT last_error FROM delivery
    WHERE announcement_id = ? AND state = ? AND channel = ? AND last_error IS NOT NULL LIMIT 1`).pluck()
  const countRetryable = db.prepare(`SELECT count(*) FROM delivery d WHERE ${retryableDead}`).pluck()
  const requeueRetryable = db.prepare(`UPDATE delivery AS d SET state = 'queued', due_at = @now, attempts = 0, finished_at = NULL,
      last_error = 'retried by ' || @actor || ' after: ' || coalesce(d.last_error, 'no error recorded'), updated_at = @now
    WHERE ${retryableDead} AND EXISTS (SELECT 1 FROM announcement WHERE id = @id AND state = 'sending')
    RETURNING channel`)
  const upcoming = db.prepare(`SELECT ${scheduleColumns} FROM schedule WHERE next_due_at IS NOT NULL ORDER BY next_due_at LIMIT ?`)
  const activeSchedules = db.prepare(`SELECT count(*) FROM schedule WHERE next_due_at IS NOT NULL`).pluck()
  // Candidates first (sending, or changed in the window: a delivery ending dead, unknown or
  // expired finishes or touches its announcement), then those deliveries through the
  // (announcement_id, state) index: never a scan of every delivery ever made. CROSS JOIN keeps the
  // announcements outside: left to itself, the planner read the whole delivery index (0.12–0.19 s
  // at a million deliveries, on every refresh of the dashboard).
  const trouble = db.prepare(`SELECT d.announcement_id AS announcementId, d.channel AS channel, d.state AS state, count(*) AS count,
      max(d.finished_at) AS lastAt,
      (SELECT e.last_error FROM delivery e WHERE e.announcement_id = d.announcement_id AND e.state = d.state
        AND e.channel = d.channel AND e.last_error IS NOT NULL LIMIT 1) AS sampleError
    FROM announcement a CROSS JOIN delivery d ON d.announcement_id = a.id AND d.state IN ('dead', 'unknown', 'expired')
    WHERE (a.state = 'sending' OR a.updated_at >= @since) AND d.finished_at >= @since
    GROUP BY d.announcement_id, d.channel, d.state
    ORDER BY lastAt DESC LIMIT @limit`)

  return {
    /** count(*) per (channel, state) asked for; each is one index range, no table rows read. */
    countsInStates(announcementId: string, channels: readonly string[], states: readonly DeliveryState[]): StateCount[] {
      const counts: StateCount[] = []
      for (const channel of channels) for (const state of states) counts.push({channel, state, count: countInState.get(announcementId, state, channel) as number})
      return counts
    },
    /** When the announcement's deliveries were created (all in one fan-out), or null before. */
    fannedOutAt(announcementId: string): number | null {
      return (fannedOutAt.get(announcementId) as number | undefined) ?? null
    },
    /** The newest attempt id: a cursor for failedAttemptsBetween. */
    latestAttemptId(): number {
      return (latestAttempt.get() as number | null) ?? 0
    },
    /** Attempts of this announcement with an error, after `after` and up to `upTo`, oldest first. */
    failedAttemptsBetween(announcementId: string, after: number, upTo: number): FailedAttempt[] {
      return failedBetween.all({id: announcementId, after, upTo}) as FailedAttempt[]
    },
    /** The stored error of one delivery in this state (dead, unknown, expired, failed). */
    standingError(announcementId: string, channel: string, state: DeliveryState): string | null {
      return (standingError.get(announcementId, state, channel) as string | undefined) ?? null
    },
    /** Dead deliveries `requeueRetryableDead` would requeue now. */
    countRetryableDead(announcementId: string, now: number): number {
      return countRetryable.get({id: announcementId, now}) as number
    },
    /**
     * Requeues the announcement's dead deliveries that died of transient failures, with a fresh
     * set of attempts, while it is still sending (a finished announcement stays as it ended);
     * records who did it. Returns how many per channel.
     */
    requeueRetryableDead(announcementId: string, actor: string, now: number): Map<string, number> {
      return writeTransaction(db, () => {
        const rows = requeueRetryable.all({id: announcementId, actor, now}) as Array<{channel: string}>
        const byChannel = new Map<string, number>()
        for (const row of rows) byChannel.set(row.channel, (byChannel.get(row.channel) ?? 0) + 1)
        if (rows.length > 0) {
          audit.append({
            action: 'state-changed',
            subject: announcementId,
            actor,
            at: now,
            details: {deliveries: {from: 'dead', to: 'queued', count: rows.length, channels: Object.fromEntries(byChannel)}, why: 'retried: they died of transient failures'},
          })
        }
        return byChannel
      })
    },
    /** Active schedules, soonest first. */
    upcomingSchedules(limit: number): Schedule[] {
      return upcoming.all(limit) as Schedule[]
    },
    activeScheduleCount(): number {
      return activeSchedules.get() as number
    },
    /** Dead, unknown and expired deliveries that ended since `since`, grouped by announcement, channel and state, newest first. */
    troubleSince(since: number, limit = 100): TroubleGroup[] {
      return trouble.all({since, limit}) as TroubleGroup[]
    },
  }
}
