import type {PostedPart} from '../channels/driver.js'
import type {Db} from './open.js'
import {valuesStatement} from './values-statement.js'

// The delivery queue: deliveries, their attempts and channel pauses. The claim is one atomic
// UPDATE … RETURNING inside BEGIN IMMEDIATE (the caller's transaction), committed before any
// network call; results are written back in small groups.

export const deliveryStates = ['queued', 'sending', 'sent', 'failed', 'dead', 'unknown', 'skipped', 'expired', 'cancelled'] as const
export type DeliveryState = (typeof deliveryStates)[number]

/** States in which a delivery will still be attempted. */
export const pendingStates: readonly DeliveryState[] = ['queued', 'failed', 'sending']
/** States that need an officer's attention after a run (exit code 4). */
export const troubleStates: readonly DeliveryState[] = ['dead', 'unknown', 'expired']
/** Every state but sent: counted or sought one by one, they pass over the sent ones — the bulk of a broadcast — in the index. */
export const unsentStates: readonly DeliveryState[] = deliveryStates.filter((state) => state !== 'sent')

export interface NewDelivery {
  id: string
  announcementId: string
  channel: string
  recipient: string | null
  priority: number
  dueAt: number
  expiresAt: number | null
  maxAttempts: number
}

/** A claimed row as RETURNING gives it: ClaimedDelivery's fields, then priority and due time. */
type ClaimedRow = [string, string, string, string | null, number, number, number | null, number, number]

/** A delivery this process holds a lease on. */
export interface ClaimedDelivery {
  id: string
  announcementId: string
  channel: string
  recipient: string | null
  attempts: number
  maxAttempts: number
  expiresAt: number | null
}

/**
 * A delivery left `sending`: whose lease it was, when it was claimed (the send began after), and
 * `stopReason` when it was cancelled or superseded while being sent (not to be sent again).
 */
export type LeasedDelivery = ClaimedDelivery & {owner: string | null; claimedAt: number; stopReason: string | null}

/** The outcome of one attempt, and the state the delivery moves to. */
export interface AttemptResult {
  id: string
  owner: string
  startedAt: number
  durationMs: number
  /** in-doubt: no answer after the request went (a timeout, a dropped connection), retried by an idempotent driver. */
  outcome: 'sent' | 'transient' | 'in-doubt' | 'rate-limited' | 'unusable' | 'permanent' | 'expired' | 'aborted' | 'reconciled' | 'not-found' | 'opted-out'
  nextState: 'sent' | 'failed' | 'queued' | 'dead' | 'expired' | 'unknown' | 'skipped'
  /** When a failed or requeued delivery may be tried again. */
  dueAt?: number
  /** The delivery's standing error ("gave up after 8 attempts: HTTP 503"). */
  error?: string
  /** What this attempt itself met, when it differs from `error` ("HTTP 503"): the attempt row keeps it. */
  attemptError?: string
  receiptId?: string
  receiptUrl?: string
  /** A rate-limited attempt does not use up one of the delivery's attempts. */
  refundAttempt?: boolean
  /** Nothing was sent (expired before its turn, skipped, handed back unstarted): no attempt row, and the claim's count taken back. */
  notAttempted?: boolean
}

export interface ChannelCounts {
  channel: string
  total: number
  queued: number
  sending: number
  sent: number
  failed: number
  dead: number
  unknown: number
  skipped: number
  expired: number
  cancelled: number
  /** Attempts that did not succeed (retries). */
  retries: number
  lastError: string | null
  /** The state of the delivery whose error lastError is (null: a retried attempt's, or no error). */
  lastErrorState: DeliveryState | null
}

/** A delivery as `status --deliveries` lists it: who it was for and how it ended. */
export interface DeliveryListed {
  id: string
  channel: string
  state: DeliveryState
  attempts: number
  lastError: string | null
  receiptId: string | null
  /** The subscriber's, for a per-recipient delivery (null on a broadcast channel, or one removed since). */
  name: string | null
  email: string | null
  phone: string | null
}

/** A delivery left `unknown` by another process that its own sender's late answer showed was sent. */
export interface LateAnswer {
  id: string
  announcementId: string
  channel: string
  /** The lease owner whose send it was. */
  sender: string
}

export interface LeaseHolder {
  owner: string
  count: number
}

export interface AudienceFanOut {
  announcementId: string
  channel: string
  list: string
  /** The announcement's area as JSON when it targets (geo-targeting): only subscribers inside it; null: the whole list. */
  area: string | null
  contact: 'email' | 'phone'
  priority: number
  expiresAt: number | null
  maxAttempts: number
  now: number
}

/**
 * The attempts of announcement @id that did not send, with their delivery's channel and state,
 * never reading those that did (at a million recipients, a million attempts): a per-recipient
 * delivery's through its id's prefix (announcement.channel.subscriber, see audienceInsert) in the
 * attempt_unsent index, a broadcast channel's few from its delivery (delivery_broadcast).
 */
export const unsentAttempts = `unsent AS (
    SELECT a.id AS seq, a.outcome, a.error, d.id AS deliveryId, d.channel, d.state FROM attempt a CROSS JOIN delivery d ON d.id = a.delivery_id
      WHERE a.outcome != 'sent' AND a.delivery_id >= @id || '.' AND a.delivery_id < @id || '/' AND d.announcement_id = @id AND d.recipient IS NOT NULL
    UNION ALL
    SELECT a.id, a.outcome, a.error, d.id, d.channel, d.state FROM delivery d CROSS JOIN attempt a ON a.delivery_id = d.id
      WHERE d.announcement_id = @id AND d.recipient IS NULL AND a.outcome != 'sent')`

/** Rows for one subscriber per delivery, straight from SQL: memory does not grow with the audience. */
function audienceInsert(db: Db, contact: 'email' | 'phone') {
  // Deterministic ids (announcement.channel.subscriber): fanning out twice cannot duplicate, and
  // the id is the delivery's Message-ID / idempotency key. Opted-out contacts get no row at all;
  // subscribers without this channel's contact get a `skipped` row saying why.
  return db.prepare(`INSERT INTO delivery (id, announcement_id, channel, recipient, state, priority, due_at, expires_at,
      max_attempts, last_error, created_at, updated_at, finished_at)
    SELECT @announcementId || '.' || @channel || '.' || s.id, @announcementId, @channel, CAST(s.id AS TEXT),
      CASE WHEN s.${contact} IS NULL THEN 'skipped' ELSE 'queued' END, @priority, @now, @expiresAt, @maxAttempts,
      CASE WHEN s.${contact} IS NULL THEN 'no ${contact === 'email' ? 'e-mail address' : 'phone number'} for this subscriber' END,
      @now, @now, CASE WHEN s.${contact} IS NULL THEN @now END
    FROM subscriber s
    WHERE s.list = @list AND (s.${contact} IS NULL OR NOT EXISTS (SELECT 1 FROM optout o WHERE o.contact = s.${contact}))
      AND (@area IS NULL OR crier_area_match(@area, s.lat, s.lon, s.zone) = 1)`)
}

/**
 * A Cancel's rows on a per-recipient channel: one for each subscriber any message of the thread
 * it withdraws reached (or may have: sending, unknown) on the same channel and still reachable,
 * not the whole audience — people who never had the message are not told it is cancelled.
 */
function reachedInsert(db: Db, contact: 'email' | 'phone') {
  return db.prepare(`INSERT INTO delivery (id, announcement_id, channel, recipient, state, priority, due_at, expires_at,
      max_attempts, created_at, updated_at)
    SELECT @announcementId || '.' || @channel || '.' || s.id, @announcementId, @channel, CAST(s.id AS TEXT),
      'queued', @priority, @now, @expiresAt, @maxAttempts, @now, @now
    FROM subscriber s WHERE s.id IN (SELECT CAST(d.recipient AS INTEGER) FROM delivery d
      WHERE d.announcement_id IN (SELECT value FROM json_each(@thread)) AND d.channel = @channel AND d.state IN ('sent', 'sending', 'unknown'))
      AND s.${contact} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM optout o WHERE o.contact = s.${contact})`)
}

export function deliveryStore(db: Db) {
  const audience = {email: audienceInsert(db, 'email'), phone: audienceInsert(db, 'phone')}
  const reached = {email: reachedInsert(db, 'email'), phone: reachedInsert(db, 'phone')}
  // Deliveries not yet sent (queued, or waiting to retry) that will never be: by cancel, or
  // because an Update took their place; each statement below adds which ones.
  const stopUndelivered = `UPDATE delivery SET state = 'cancelled', last_error = @reason, lease_owner = NULL,
      lease_until = NULL, updated_at = @now, finished_at = @now WHERE state IN ('queued', 'failed')`
  // What is being sent as it is stopped is too late to stop, but is marked: a retry of it (its send
  // fails, its lease runs out) ends `cancelled` rather than go out after the Cancel or Update, and
  // a dispatcher holding it claimed and not yet started lets it go (stoppedWhileHeld).
  const stopInFlight = `UPDATE delivery SET stop_reason = @inFlightReason, updated_at = @now WHERE state = 'sending'`
  const stopping = (where: string) => ({undelivered: db.prepare(`${stopUndelivered} ${where}`), inFlight: db.prepare(`${stopInFlight} ${where}`)})
  /** `by`: "cancelled by pc.smith", "superseded by Update 01JE…". */
  /** How many were stopped unsent, and how many a sender held (on the wire, or about to be). */
  const stop = (statements: ReturnType<typeof stopping>, by: string, params: Record<string, unknown>) => {
    const held = statements.inFlight.run({...params, inFlightReason: `${by} while a sender held it; not sent again`}).changes
    return {stopped: statements.undelivered.run({...params, reason: `${by} before it was sent`}).changes, held}
  }
  const cancelUndelivered = stopping('AND announcement_id = @id')
  // An Update's words replace its original's: what of the original has not gone yet stops where
  // the Update goes — on a broadcast channel the Update is on, and on a per-recipient one for each
  // recipient the Update has a row for (its ids are announcement.channel.subscriber, as theirs).
  const supersedeBroadcast = stopping(`AND announcement_id = @original AND recipient IS NULL
      AND channel IN (SELECT DISTINCT channel FROM delivery WHERE announcement_id = @update)`)
  const supersedeRecipients = stopping(`AND announcement_id = @original AND recipient IS NOT NULL
      AND EXISTS (SELECT 1 FROM delivery u WHERE u.id = @update || '.' || delivery.channel || '.' || delivery.recipient)`)
  // A Cancel to one subscriber: whether what it cancels (any message of the thread) reached them.
  const originalReach = db.prepare(`SELECT coalesce(max(d.state = 'sending'), 0) AS held,
      coalesce(max(d.state IN ('sent', 'unknown') OR EXISTS (SELECT 1 FROM attempt a WHERE a.delivery_id = d.id AND a.outcome IN ('in-doubt', 'aborted'))), 0) AS reached
    FROM delivery d WHERE d.id IN (SELECT value || '.' || @channel || '.' || @recipient FROM json_each(@thread))`)
  const stoppedWhileHeld = db.prepare(`SELECT id FROM delivery WHERE lease_owner = ? AND state = 'sending' AND stop_reason IS NOT NULL`).pluck()
  // Where a message may be held: a delivery sent, being sent or in doubt, or one with a part of
  // its thread posted (the rest refused, rate-limited or stopped: the first part is public) —
  // or, on a broadcast channel, one that gave up or was stopped after a try the other end may
  // have taken in (no answer after the request went, or stopped mid-send): the partner may well
  // have read it.
  const partPosted = `EXISTS (SELECT 1 FROM delivery_part p WHERE p.delivery_id = d.id)`
  const mayHaveReached = db.prepare(`SELECT DISTINCT channel FROM delivery d
    WHERE d.announcement_id IN (SELECT value FROM json_each(?)) AND (d.state IN ('sent', 'sending', 'unknown') OR ${partPosted}
      OR (d.recipient IS NULL AND EXISTS (SELECT 1 FROM attempt a WHERE a.delivery_id = d.id AND a.outcome IN ('in-doubt', 'aborted'))))
    ORDER BY channel`).pluck()
  const publishedChannels = db.prepare(`SELECT DISTINCT channel FROM delivery d
    WHERE announcement_id = ? AND (state IN ('sent', 'sending', 'unknown') OR ${partPosted}) ORDER BY channel`).pluck()
  const sendingNow = db.prepare(`SELECT count(*) FROM delivery WHERE announcement_id = ? AND state = 'sending'`).pluck()
  const countQueued = db.prepare(`SELECT state, count(*) AS n FROM delivery WHERE announcement_id = ? AND channel = ? GROUP BY state`)
  const rateRow = db.prepare(`SELECT tokens, refilled_at AS refilledAt FROM channel_rate WHERE channel = ?`)
  const saveRate = db.prepare(`INSERT INTO channel_rate (channel, tokens, refilled_at) VALUES (@channel, @tokens, @now)
    ON CONFLICT (channel) DO UPDATE SET tokens = excluded.tokens, refilled_at = excluded.refilled_at`)
  const returnRate = db.prepare(`UPDATE channel_rate SET tokens = tokens + @count WHERE channel = @channel`)
  const insert = db.prepare(`INSERT INTO delivery (id, announcement_id, channel, recipient, state, priority, due_at,
      expires_at, max_attempts, created_at, updated_at)
    VALUES (@id, @announcementId, @channel, @recipient, 'queued', @priority, @dueAt, @expiresAt, @maxAttempts, @now, @now)`)
  // A claim: leased to its owner, its attempt counted, the claimed rows returned (claimDue).
  // Rows as arrays (raw), made into objects below: better-sqlite3's own row objects cost more than
  // twice as much per row, and a big claim is hundreds of rows.
  const claimStatement = (which: string) =>
    db.prepare(`UPDATE delivery SET state = 'sending', lease_owner = @owner, lease_until = @leaseUntil,
      attempts = attempts + 1, updated_at = @now
    WHERE id IN (${which})
    RETURNING id, announcement_id, channel, recipient, attempts, max_attempts, expires_at, priority, due_at`).raw(true)
  const claim = claimStatement(`SELECT id FROM delivery WHERE channel = @channel AND state IN ('queued', 'failed') AND due_at <= @now
                 ORDER BY priority, due_at LIMIT @limit`)
  // One announcement's (a waiting broadcast's, a cancel's): through its own index range, so that
  // a backlog of other announcements is neither sent by this process nor read by each claim. Its
  // deliveries on a channel share a priority; a retry's later due time is all that orders them.
  const claimOf = claimStatement(`SELECT id FROM delivery WHERE announcement_id = @announcementId AND state IN ('queued', 'failed') AND channel = @channel
                 AND due_at <= @now LIMIT @limit`)
  // A group commit's attempts in one statement, and its sends (the common outcome) in another,
  // their rows bound as VALUES (values-statement.ts).
  const recordAttempts = valuesStatement(db, 6, (values) => `INSERT INTO attempt (delivery_id, started_at, duration_ms, outcome, receipt_id, error) ${values}`)
  const recordSent = valuesStatement(
    db,
    4,
    (values) => `UPDATE delivery SET state = 'sent', last_error = NULL,
      receipt_id = COALESCE(r.column3, receipt_id), receipt_url = COALESCE(r.column4, receipt_url),
      lease_owner = NULL, lease_until = NULL, updated_at = ?, finished_at = ?
    FROM (${values}) AS r
    WHERE delivery.id = r.column1 AND delivery.state = 'sending' AND delivery.lease_owner = r.column2
    RETURNING delivery.id`,
    {pluck: true},
  )
  // A delivery stopped while it was being sent (stop_reason) is not tried again: what would have
  // been a retry, or a claim handed back, ends it cancelled.
  const stoppedRetry = `@nextState IN ('failed', 'queued') AND stop_reason IS NOT NULL`
  const recordResult = db.prepare(`UPDATE delivery SET state = CASE WHEN ${stoppedRetry} THEN 'cancelled' ELSE @nextState END,
      due_at = COALESCE(@dueAt, due_at),
      last_error = CASE WHEN ${stoppedRetry} THEN stop_reason || COALESCE(' (' || @error || ')', '') ELSE @error END,
      receipt_id = COALESCE(@receiptId, receipt_id), receipt_url = COALESCE(@receiptUrl, receipt_url),
      lease_owner = NULL, lease_until = NULL, attempts = attempts - @refund, updated_at = @now,
      finished_at = CASE WHEN @nextState IN ('sent', 'dead', 'expired', 'unknown', 'skipped') OR ${stoppedRetry} THEN @now ELSE NULL END
    WHERE id = @id AND state = 'sending' AND lease_owner = @owner`)
  // A send that succeeded after its lease was given up still happened: that beats doubt.
  const recordLateSuccess = db.prepare(`UPDATE delivery SET state = 'sent', last_error = NULL,
      receipt_id = @receiptId, receipt_url = @receiptUrl, lease_owner = NULL, lease_until = NULL, updated_at = @now, finished_at = @now
    WHERE id = @id AND state IN ('unknown', 'queued', 'failed')`)
  // Read before the late success overwrites it: a delivery another process settled `unknown`
  // may have finished its announcement with failures, which must then be looked at again.
  const settledUnknown = db.prepare(`SELECT announcement_id AS announcementId, channel FROM delivery WHERE id = ? AND state = 'unknown'`)
  const expiredLeases = db.prepare(`SELECT id, announcement_id AS announcementId, channel, recipient, attempts,
      max_attempts AS maxAttempts, expires_at AS expiresAt, lease_owner AS owner, updated_at AS claimedAt, stop_reason AS stopReason
    FROM delivery WHERE state = 'sending' AND lease_until <= @now AND channel NOT IN (SELECT value FROM json_each(@skip)) LIMIT @limit`)
  const leaseHolders = db.prepare(`SELECT lease_owner AS owner, count(*) AS count FROM delivery
    WHERE state = 'sending' GROUP BY lease_owner`)
  const holdersOf = db.prepare(`SELECT lease_owner AS owner, count(*) AS count, min(lease_until) AS leaseUntil FROM delivery
    WHERE announcement_id = ? AND state = 'sending' GROUP BY lease_owner`)
  const leasedBy = db.prepare(`SELECT id, announcement_id AS announcementId, channel, recipient, attempts,
      max_attempts AS maxAttempts, expires_at AS expiresAt, lease_owner AS owner, updated_at AS claimedAt, stop_reason AS stopReason
    FROM delivery WHERE state = 'sending' AND lease_owner = @owner AND channel NOT IN (SELECT value FROM json_each(@skip)) LIMIT @limit`)
  // Stopped while it was being sent (a cancel since the rows were read): its sender died mid-send,
  // so it may have gone — unknown, where a Cancel goes, never sent again.
  const requeue = db.prepare(`UPDATE delivery SET state = CASE WHEN stop_reason IS NULL THEN 'queued' ELSE 'unknown' END,
      lease_owner = NULL, lease_until = NULL, due_at = @now, updated_at = @now,
      last_error = CASE WHEN stop_reason IS NULL THEN @reason ELSE stop_reason || '; its sender stopped mid-send, so it may or may not have gone out' END,
      finished_at = CASE WHEN stop_reason IS NULL THEN NULL ELSE @now END
    WHERE id = @id AND state = 'sending' AND lease_owner IS @owner RETURNING state`).pluck()
  // Claimed by a sender that died before it started it: not in doubt. Back to the queue, the
  // attempt not counted — or, stopped since (a cancel), cancelled: it never went out.
  const requeueUnstarted = db.prepare(`UPDATE delivery SET state = CASE WHEN stop_reason IS NULL THEN 'queued' ELSE 'cancelled' END,
      lease_owner = NULL, lease_until = NULL, due_at = @now, updated_at = @now, attempts = attempts - 1,
      last_error = CASE WHEN stop_reason IS NULL THEN @reason ELSE stop_reason END,
      finished_at = CASE WHEN stop_reason IS NULL THEN NULL ELSE @now END
    WHERE id = @id AND state = 'sending' AND lease_owner = @owner RETURNING state`).pluck()
  const markUnknown = db.prepare(`UPDATE delivery SET state = 'unknown', lease_owner = NULL, lease_until = NULL,
      last_error = @reason, updated_at = @now, finished_at = @now
    WHERE id = @id AND state = 'sending' AND lease_owner IS @owner`)
  const takeOverLease = db.prepare(`UPDATE delivery SET lease_owner = @owner, lease_until = @leaseUntil, updated_at = @now
    WHERE id = @id AND state = 'sending' AND lease_owner IS @previousOwner`)
  const renewLeases = db.prepare(`UPDATE delivery SET lease_until = @leaseUntil
    WHERE state = 'sending' AND lease_owner = @owner AND channel = @channel RETURNING id`).pluck()
  const expireOverdue = db.prepare(`UPDATE delivery SET state = 'expired', last_error = 'announcement expired before it could be sent',
      lease_owner = NULL, lease_until = NULL, updated_at = @now, finished_at = @now
    WHERE state IN ('queued', 'failed') AND expires_at IS NOT NULL AND expires_at <= @now
    RETURNING id, channel, announcement_id AS announcementId`)
  const pause = db.prepare(`INSERT INTO channel_pause (channel, paused_until, reason) VALUES (@channel, @until, @reason)
    ON CONFLICT (channel) DO UPDATE SET paused_until = max(paused_until, excluded.paused_until), reason = excluded.reason`)
  const pauses = db.prepare(`SELECT channel, paused_until AS pausedUntil, reason FROM channel_pause WHERE paused_until > @now ORDER BY channel`)
  const channelPauses = (now: number) => pauses.all({now}) as Array<{channel: string; pausedUntil: number; reason: string}>
  // A feed is a broadcast channel: its deliveries are among the few with no recipient (delivery_broadcast),
  // not the whole index (76–232 ms beside a million-recipient broadcast, on each rewrite of the feed).
  const sentOn = db.prepare(`SELECT DISTINCT announcement_id FROM delivery WHERE channel = ? AND state IN ('sent', 'sending') AND recipient IS NULL`).pluck()
  const feedCheckedUntil = db.prepare(`SELECT checked_until FROM feed_refresh WHERE channel = ?`).pluck()
  const saveFeedChecked = db.prepare(`INSERT INTO feed_refresh (channel, checked_until) VALUES (?, ?)
    ON CONFLICT (channel) DO UPDATE SET checked_until = max(checked_until, excluded.checked_until)`)
  // Announcements are few beside deliveries: those that expired in the window, then whether the channel carried them.
  const expiredOnChannel = db.prepare(`SELECT EXISTS (SELECT 1 FROM announcement a WHERE a.expires_at > @since AND a.expires_at <= @now
    AND EXISTS (SELECT 1 FROM delivery d WHERE d.announcement_id = a.id AND d.state IN ('sent', 'sending') AND d.channel = @channel))`).pluck()
  const nextLeaseExpiry = db.prepare(`SELECT min(lease_until) FROM delivery WHERE state = 'sending'`).pluck()
  // EXISTS stops at the first row: checked on every group commit, a count(*) here made the
  // cost of a broadcast grow with the square of its audience (bench: 4.6k → 10.9k/s).
  const hasPending = db.prepare(`SELECT EXISTS (SELECT 1 FROM delivery WHERE announcement_id = ? AND state IN ('queued', 'failed', 'sending'))`).pluck()
  // One index probe per channel (the partial delivery_due index), however big the queue.
  const nextQueuedChannel = db.prepare(`SELECT min(channel) FROM delivery WHERE state IN ('queued', 'failed') AND channel > ?`).pluck()
  // Skipped and cancelled ones never were to reach anyone: they neither count as reached nor stop it counting as expired.
  const anyNotExpired = db.prepare(`SELECT EXISTS (SELECT 1 FROM delivery WHERE announcement_id = ? AND state NOT IN ('expired', 'skipped', 'cancelled'))`).pluck()
  // Who each delivery was for, read at the time of asking (a subscriber removed since reads as null).
  const inStates = db.prepare(`SELECT d.id, d.channel, d.state, d.attempts, d.last_error AS lastError, d.receipt_id AS receiptId,
      s.name, s.email, s.phone
    FROM delivery d LEFT JOIN subscriber s ON d.recipient IS NOT NULL AND s.id = CAST(d.recipient AS INTEGER)
    WHERE d.announcement_id = @id AND d.state IN (SELECT value FROM json_each(@states)) ORDER BY d.channel, d.state, d.id LIMIT @limit`)
  const countInStates = db.prepare(`SELECT count(*) FROM delivery WHERE announcement_id = @id AND state IN (SELECT value FROM json_each(@states))`).pluck()
  const waitingOn = db.prepare(`SELECT EXISTS (SELECT 1 FROM delivery WHERE announcement_id = ? AND state IN ('queued', 'failed') AND channel = ?)`).pluck()
  const hasTrouble = db.prepare(`SELECT EXISTS (SELECT 1 FROM delivery WHERE announcement_id = ? AND state IN ('dead', 'unknown', 'expired'))`).pluck()
  const countsFor = db.prepare(`SELECT channel, state, count(*) AS n FROM delivery WHERE announcement_id = ? GROUP BY channel, state`)
  // Retries: failed attempts that were (or will be) tried again — every one, less the last of
  // each delivery that ended without being sent (a one-shot refusal is no retry).
  // Not a try the channel's stop handed back uncounted (credentials refused, a stop signal):
  // "5 retries" would read as crier retrying and failing, where nothing was retried.
  const retriesFor = db.prepare(`WITH ${unsentAttempts} SELECT channel,
      count(*) - count(DISTINCT CASE WHEN state IN ('dead', 'unknown', 'expired', 'skipped', 'cancelled') THEN deliveryId END) AS n
    FROM unsent WHERE outcome NOT IN ('unusable', 'aborted') GROUP BY channel`)
  // The last error per channel (the last row wins): a delivery's standing error over a retried
  // attempt's, so "sent 3/3 (1 retry: 503)" still says what the retry was for; and of standing
  // errors, the gravest state's — a dead delivery's reason before a skipped one's — with the
  // state it explains; within a state, the reason most of them share (196 cancelled, 25 of them
  // while a sender held them: the 171 others' reason, not the one that happened to settle last).
  const lastErrorFor = db.prepare(`WITH ${unsentAttempts} SELECT channel, lastError, state FROM (
      SELECT channel, error AS lastError, NULL AS state, 0 AS standing, 0 AS grave, 0 AS shared, seq FROM unsent WHERE error IS NOT NULL
      UNION ALL
      SELECT channel, last_error, state, 1, CASE state WHEN 'skipped' THEN 1 WHEN 'cancelled' THEN 2 WHEN 'failed' THEN 3 WHEN 'queued' THEN 3
          WHEN 'expired' THEN 4 WHEN 'unknown' THEN 5 WHEN 'dead' THEN 6 ELSE 0 END, count(*) OVER (PARTITION BY channel, state, last_error), updated_at
        FROM delivery WHERE announcement_id = @id AND last_error IS NOT NULL AND state IN (${unsentStates.map((state) => `'${state}'`).join(', ')}))
    ORDER BY standing, grave, shared, seq`)
  const broadcastOnes = db.prepare(`SELECT id, announcement_id AS announcementId, channel, recipient, state, attempts,
      last_error AS lastError, receipt_id AS receiptId, receipt_url AS receiptUrl FROM delivery
    WHERE announcement_id = ? AND recipient IS NULL ORDER BY channel, id`)

  const partsOf = db.prepare(`SELECT part_index AS "index", provider_id AS providerId, url, ref FROM delivery_part
    WHERE delivery_id = ? ORDER BY part_index`)
  const partOfAnother = db.prepare(`SELECT EXISTS (SELECT 1 FROM delivery_part p JOIN delivery d ON d.id = p.delivery_id
    WHERE p.provider_id = @providerId AND p.delivery_id != @deliveryId AND d.channel = @channel)`).pluck()
  const savePart = db.prepare(`INSERT OR REPLACE INTO delivery_part (delivery_id, part_index, provider_id, url, ref, posted_at)
    VALUES (@deliveryId, @index, @providerId, @url, @ref, @now)`)

  return {
    insert(delivery: NewDelivery, now: number): void {
      insert.run({...delivery, now})
    },
    /** One delivery per subscriber of the list; returns how many were queued and skipped. */
    fanOutAudience(params: AudienceFanOut): {queued: number; skipped: number} {
      const {contact, ...values} = params
      audience[contact].run(values)
      const counts = Object.fromEntries((countQueued.all(params.announcementId, params.channel) as Array<{state: string; n: number}>).map((r) => [r.state, r.n]))
      return {queued: counts.queued ?? 0, skipped: counts.skipped ?? 0}
    },
    /** A Cancel's deliveries on a per-recipient channel: the subscribers the original reached there. */
    fanOutReached(params: AudienceFanOut & {thread: string[]}): number {
      const {contact, list: _list, area: _area, thread, ...values} = params
      return reached[contact].run({...values, thread: JSON.stringify(thread)}).changes
    },
    /** Stops the original's deliveries not yet sent that the Update `update` takes the place of (and marks those being sent, not to be tried again); how many it stopped. */
    supersedeUndelivered(original: string, update: string, by: string, now: number): {stopped: number; held: number} {
      const params = {original, update, now}
      const broadcast = stop(supersedeBroadcast, by, params)
      const recipients = stop(supersedeRecipients, by, params)
      return {stopped: broadcast.stopped + recipients.stopped, held: broadcast.held + recipients.held}
    },
    /** Channels where any of these announcements reached the public or may have (see the query). */
    mayHaveReached(ids: string[]): string[] {
      return mayHaveReached.all(JSON.stringify(ids)) as string[]
    },
    /** Stops every delivery of the announcement not yet sent (queued, or waiting to retry), and marks those being sent not to be tried again; how many it stopped. */
    cancelUndelivered(announcementId: string, by: string, now: number): number {
      return stop(cancelUndelivered, by, {id: announcementId, now}).stopped
    },
    /** Channels on which the announcement reached the public, or may have (being sent, in doubt). */
    publishedChannels(announcementId: string): string[] {
      return publishedChannels.all(announcementId) as string[]
    },
    /** Deliveries being sent right now (leased): too late to stop. */
    sendingNow(announcementId: string): number {
      return sendingNow.get(announcementId) as number
    },
    /**
     * Takes up to `want` send tokens from the channel's bucket, shared through the database so
     * that two processes together keep the configured rate. The bucket holds a tenth of a
     * second's worth (at least one): a full second's would let twice the rate through in the
     * first second, and `rate` is how an officer keeps under a provider's per-second cap.
     * Call inside the claim's BEGIN IMMEDIATE. Returns the tokens granted and, when none are
     * left, how long until the next one.
     */
    takeRateTokens(channel: string, perSecond: number, want: number, now: number): {granted: number; waitMs: number} {
      const capacity = Math.max(1, Math.ceil(perSecond / 10))
      const row = rateRow.get(channel) as {tokens: number; refilledAt: number} | undefined
      // A claim's time was read before it waited for the lock: one that waited behind another
      // process's later claim must not move the bucket's clock back, or that time refills twice.
      const at = row ? Math.max(now, row.refilledAt) : now
      const tokens = row ? Math.min(capacity, row.tokens + ((at - row.refilledAt) * perSecond) / 1000) : capacity
      const granted = Math.max(0, Math.min(want, Math.floor(tokens)))
      const left = tokens - granted
      saveRate.run({channel, tokens: left, now: at})
      return {granted, waitMs: left >= 1 ? 0 : Math.ceil(((1 - left) * 1000) / perSecond)}
    },
    /** Gives back tokens a claim did not use (fewer deliveries were due than tokens taken). */
    returnRateTokens(channel: string, count: number): void {
      returnRate.run({channel, count})
    },
    /**
     * Leases up to `limit` due deliveries of one channel, most urgent first — of one announcement
     * only, when given. Call inside BEGIN IMMEDIATE.
     */
    claimDue(params: {channel: string; owner: string; now: number; leaseUntil: number; limit: number; announcementId?: string}): ClaimedDelivery[] {
      const {announcementId, ...rest} = params
      const rows = (announcementId === undefined ? claim.all(rest) : claimOf.all({...rest, announcementId})) as ClaimedRow[]
      // RETURNING comes back in table order, not the subquery's: restore the urgency order.
      rows.sort((a, b) => a[7] - b[7] || a[8] - b[8])
      return rows.map(([id, announcementId, channel, recipient, attempts, maxAttempts, expiresAt]) => ({id, announcementId, channel, recipient, attempts, maxAttempts, expiresAt}))
    },
    /**
     * Writes attempts and outcomes. An outcome for a delivery whose lease this owner no longer
     * holds is dropped, except a send: one that happened beats any doubt since. Returns the
     * deliveries such a late send took out of `unknown` (another process had settled them in
     * doubt), with whose answer it was.
     */
    recordResults(results: AttemptResult[], now: number): LateAnswer[] {
      const attempts: unknown[][] = []
      const sent: AttemptResult[] = []
      for (const result of results) {
        if (!result.notAttempted) attempts.push([result.id, result.startedAt, result.durationMs, result.outcome, result.receiptId ?? null, result.attemptError ?? result.error ?? null])
        if (result.nextState === 'sent') sent.push(result)
        else {
          recordResult.run({
            id: result.id,
            owner: result.owner,
            nextState: result.nextState,
            dueAt: result.dueAt ?? null,
            error: result.error ?? null,
            receiptId: result.receiptId ?? null,
            receiptUrl: result.receiptUrl ?? null,
            // An attempt counted at the claim has a row, or is taken back: one never tried is not one.
            refund: result.refundAttempt || result.notAttempted ? 1 : 0,
            now,
          })
        }
      }
      if (attempts.length > 0) recordAttempts.all(attempts)
      const resolved: LateAnswer[] = []
      if (sent.length === 0) return resolved
      const rows = sent.map((result) => [result.id, result.owner, result.receiptId ?? null, result.receiptUrl ?? null])
      const recorded = new Set(recordSent.all(rows, [now, now]) as string[])
      for (const result of sent) {
        if (recorded.has(result.id)) continue
        const wasUnknown = settledUnknown.get(result.id) as {announcementId: string; channel: string} | undefined
        const changed = recordLateSuccess.run({id: result.id, receiptId: result.receiptId ?? null, receiptUrl: result.receiptUrl ?? null, now}).changes === 1
        if (changed && wasUnknown) resolved.push({id: result.id, ...wasUnknown, sender: result.owner})
      }
      return resolved
    },
    /** Deliveries whose lease has run out, but those on the `skip` channels. */
    expiredLeases(now: number, limit = 500, skip: string[] = []): LeasedDelivery[] {
      return expiredLeases.all({now, limit, skip: JSON.stringify(skip)}) as LeasedDelivery[]
    },
    leaseHolders(): LeaseHolder[] {
      return leaseHolders.all() as LeaseHolder[]
    },
    /** Who holds the announcement's deliveries being sent, how many each, and the soonest their leases run out. */
    holdersOf(announcementId: string): Array<LeaseHolder & {leaseUntil: number | null}> {
      return holdersOf.all(announcementId) as Array<LeaseHolder & {leaseUntil: number | null}>
    },
    leasedBy(owner: string, limit = 500, skip: string[] = []): LeasedDelivery[] {
      return leasedBy.all({owner, limit, skip: JSON.stringify(skip)}) as LeasedDelivery[]
    },
    /** Back to the queue — or, stopped while it was being sent (stop_reason), unknown; undefined when another process has it now. */
    requeue(id: string, owner: string | null, reason: string, now: number): 'queued' | 'unknown' | undefined {
      return requeue.get({id, owner, reason, now}) as 'queued' | 'unknown' | undefined
    },
    /** Never started by the sender that claimed it (and died): queued again, or cancelled where it was stopped since; undefined when another process has it now. */
    requeueUnstarted(id: string, owner: string, reason: string, now: number): 'queued' | 'cancelled' | undefined {
      return requeueUnstarted.get({id, owner, reason, now}) as 'queued' | 'cancelled' | undefined
    },
    markUnknown(id: string, owner: string | null, reason: string, now: number): boolean {
      return markUnknown.run({id, owner, reason, now}).changes === 1
    },
    /**
     * For a Cancel to `recipient` on `channel`: whether the messages of `thread` reached them
     * (sent, in doubt, or tried with no answer), are still held by a sender (not yet settled), or
     * did not — let go unsent when they were cancelled.
     */
    originalReach(thread: string[], channel: string, recipient: string): 'reached' | 'held' | 'not-reached' {
      const {held, reached} = originalReach.get({thread: JSON.stringify(thread), channel, recipient}) as {held: number; reached: number}
      return reached ? 'reached' : held ? 'held' : 'not-reached'
    },
    /** Of what `owner` holds claimed, what was cancelled or superseded since: not to be started. */
    stoppedWhileHeld(owner: string): string[] {
      return stoppedWhileHeld.all(owner) as string[]
    },
    /** Extends the leases `owner` still holds on `channel` (none taken over by another process); returns their ids. */
    renewLeases(params: {owner: string; channel: string; leaseUntil: number}): string[] {
      return renewLeases.all(params) as string[]
    },
    takeOverLease(id: string, previousOwner: string | null, owner: string, leaseUntil: number, now: number): boolean {
      return takeOverLease.run({id, previousOwner, owner, leaseUntil, now}).changes === 1
    },
    /** Marks every not-yet-sent delivery of an expired announcement `expired`; returns them, and the announcements touched. */
    expireOverdue(now: number): {expired: Array<{id: string; channel: string; announcementId: string}>; announcementIds: string[]} {
      const rows = expireOverdue.all({now}) as Array<{id: string; channel: string; announcementId: string}>
      return {expired: rows, announcementIds: [...new Set(rows.map((row) => row.announcementId))]}
    },
    pauseChannel(channel: string, until: number, reason: string): void {
      pause.run({channel, until, reason})
    },
    pausedChannels(now: number): Map<string, number> {
      return new Map(channelPauses(now).map((row) => [row.channel, row.pausedUntil]))
    },
    /** Channels paused now (a provider's rate limit), until when and why. */
    channelPauses(now: number): Array<{channel: string; pausedUntil: number; reason: string}> {
      return channelPauses(now)
    },
    /**
     * The earliest due time of pending work on these channels (work for channels no longer
     * configured waits) — of one announcement only, when given.
     */
    nextDueAt(channels: string[], announcementId?: string): number | null {
      if (channels.length === 0) return null
      const ofOne = announcementId !== undefined
      const sql = `SELECT min(due_at) FROM delivery WHERE ${ofOne ? 'announcement_id = ? AND ' : ''}state IN ('queued', 'failed') AND channel IN (${channels.map(() => '?').join(', ')})`
      return db.prepare(sql).pluck().get(...(ofOne ? [announcementId, ...channels] : channels)) as number | null
    },
    /**
     * Announcements a collection-publishing channel (the feed) has published or is publishing:
     * two overlapping sends each include the other, so neither rewrite drops an entry.
     */
    announcementIdsSentOn(channel: string): string[] {
      return sentOn.all(channel) as string[]
    },
    /** Whether an announcement published on the channel expired after `since` and by `now`: its feed lists it still. */
    expiredOnChannelSince(channel: string, since: number, now: number): boolean {
      return expiredOnChannel.get({channel, since, now}) === 1
    },
    /** Up to when the channel's feed was brought up to date with its entries' expiry (0: never). */
    feedCheckedUntil(channel: string): number {
      return (feedCheckedUntil.get(channel) as number | undefined) ?? 0
    },
    setFeedCheckedUntil(channel: string, at: number): void {
      saveFeedChecked.run(channel, at)
    },
    nextLeaseExpiry(): number | null {
      return nextLeaseExpiry.get() as number | null
    },
    hasPending(announcementId: string): boolean {
      return hasPending.get(announcementId) === 1
    },
    /** The announcement's deliveries in these states, with whom each was for (up to `limit`), and how many there are in all. */
    listInStates(announcementId: string, states: readonly DeliveryState[], limit: number): {total: number; deliveries: DeliveryListed[]} {
      const params = {id: announcementId, states: JSON.stringify(states)}
      return {total: countInStates.get(params) as number, deliveries: inStates.all({...params, limit}) as DeliveryListed[]}
    },
    /** The announcement has deliveries on this channel waiting to be sent (queued, or to retry). */
    waitingOn(announcementId: string, channel: string): boolean {
      return waitingOn.get(announcementId, channel) === 1
    },
    hasTrouble(announcementId: string): boolean {
      return hasTrouble.get(announcementId) === 1
    },
    /** The channels with deliveries waiting to be sent (queued, or failed and due to retry). */
    channelsWithQueue(): string[] {
      const channels: string[] = []
      for (let next = nextQueuedChannel.get('') as string | null; next !== null; next = nextQueuedChannel.get(next) as string | null) channels.push(next)
      return channels
    },
    /** Every delivery of the announcement that was to reach someone expired (none went, none is dead or in doubt). */
    allExpired(announcementId: string): boolean {
      return anyNotExpired.get(announcementId) === 0
    },
    countsByChannel(announcementId: string): ChannelCounts[] {
      const byChannel = new Map<string, ChannelCounts>()
      const entry = (channel: string): ChannelCounts => {
        let counts = byChannel.get(channel)
        if (!counts) {
          counts = {channel, total: 0, queued: 0, sending: 0, sent: 0, failed: 0, dead: 0, unknown: 0, skipped: 0, expired: 0, cancelled: 0, retries: 0, lastError: null, lastErrorState: null}
          byChannel.set(channel, counts)
        }
        return counts
      }
      for (const row of countsFor.all(announcementId) as Array<{channel: string; state: DeliveryState; n: number}>) {
        const counts = entry(row.channel)
        counts[row.state] += row.n
        counts.total += row.n
      }
      for (const row of retriesFor.all({id: announcementId}) as Array<{channel: string; n: number}>) entry(row.channel).retries = row.n
      for (const row of lastErrorFor.all({id: announcementId}) as Array<{channel: string; lastError: string; state: DeliveryState | null}>) {
        const counts = entry(row.channel)
        counts.lastError = row.lastError
        counts.lastErrorState = row.state
      }
      return [...byChannel.values()].sort((a, b) => a.channel.localeCompare(b.channel))
    },
    /** The thread posts earlier attempts of this delivery published, in order. */
    /** Whether another delivery on `channel` recorded the post `providerId` as one of its own. */
    isPartOfAnother(deliveryId: string, channel: string, providerId: string): boolean {
      return partOfAnother.get({deliveryId, channel, providerId}) === 1
    },
    postedParts(deliveryId: string): PostedPart[] {
      return (partsOf.all(deliveryId) as Array<{index: number; providerId: string; url: string | null; ref: string | null}>).map((row) => ({
        index: row.index,
        providerId: row.providerId,
        ...(row.url !== null && {url: row.url}),
        ...(row.ref !== null && {ref: row.ref}),
      }))
    },
    recordPart(deliveryId: string, part: PostedPart, now: number): void {
      savePart.run({deliveryId, index: part.index, providerId: part.providerId, url: part.url ?? null, ref: part.ref ?? null, now})
    },
    /** The deliveries of broadcast channels (one per channel), never the whole audience. */
    broadcastDeliveries(announcementId: string) {
      return broadcastOnes.all(announcementId) as Array<{id: string; announcementId: string; channel: string; recipient: string | null; state: DeliveryState; attempts: number; lastError: string | null; receiptId: string | null; receiptUrl: string | null}>
    },
  }
}
