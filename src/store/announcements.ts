import type {Announcement, Area, LifecycleState, Override, Variant} from '../core/announcement.js'
import {primaryVariant} from '../core/announcement.js'
import {contentHash} from '../core/policy/approvals.js'
import {oneLine} from '../core/terminal-text.js'
import {atomically, type AuditTrail} from './audit.js'
import type {Db} from './open.js'

// Announcements and their approvals: one table family, the only SQL that touches them.

interface AnnouncementRow {
  id: string
  identifier: string
  sender: string
  sender_name: string | null
  cap_status: string
  msg_type: string
  scope: string
  references_id: string | null
  category: string
  event: string
  urgency: string
  severity: string
  certainty: string
  web: string | null
  area_json: string | null
  variants_json: string
  channels_json: string
  effective_at: number | null
  expires_at: number | null
  state: string
  author: string
  reject_reason: string | null
  created_at: number
  updated_at: number
  sent_at: number | null
  issued_at?: number | null
  utc_written_as?: string | null
  // Migration 8; written by recordChannelTypes only.
  channel_types_json?: string | null
  // Migration 6; read, never written by insert or update.
  override_by?: string | null
  override_reason?: string | null
  override_at?: number | null
  override_content_hash?: string | null
  reviewed_by?: string | null
  reviewed_at?: number | null
  review_note?: string | null
}

function toOverride(row: AnnouncementRow): Override | undefined {
  if (!row.override_by) return undefined
  return {
    by: row.override_by,
    reason: row.override_reason ?? '',
    at: row.override_at!,
    contentHash: row.override_content_hash ?? '',
    ...(row.reviewed_by ? {reviewedBy: row.reviewed_by, reviewedAt: row.reviewed_at!} : {}),
    ...(row.review_note ? {reviewNote: row.review_note} : {}),
  }
}

function toAnnouncement(row: AnnouncementRow): Announcement {
  return {
    id: row.id,
    identifier: row.identifier,
    sender: row.sender,
    senderName: row.sender_name ?? undefined,
    status: row.cap_status as Announcement['status'],
    msgType: row.msg_type as Announcement['msgType'],
    scope: row.scope as Announcement['scope'],
    references: row.references_id ?? undefined,
    category: row.category as Announcement['category'],
    event: row.event,
    urgency: row.urgency as Announcement['urgency'],
    severity: row.severity as Announcement['severity'],
    certainty: row.certainty as Announcement['certainty'],
    web: row.web ?? undefined,
    area: row.area_json ? (JSON.parse(row.area_json) as Area) : undefined,
    variants: JSON.parse(row.variants_json) as Variant[],
    channels: JSON.parse(row.channels_json) as string[],
    effectiveAt: row.effective_at ?? undefined,
    expiresAt: row.expires_at ?? undefined,
    state: row.state as LifecycleState,
    author: row.author,
    rejectReason: row.reject_reason ?? undefined,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    sentAt: row.sent_at ?? undefined,
    ...(row.issued_at ? {issuedAt: row.issued_at} : {}),
    ...(row.utc_written_as ? {utcWrittenAs: row.utc_written_as} : {}),
    ...(row.override_by ? {override: toOverride(row)} : {}),
    ...(row.channel_types_json ? {channelTypes: JSON.parse(row.channel_types_json) as Record<string, string>} : {}),
  }
}

function toRow(a: Announcement): AnnouncementRow {
  return {
    id: a.id,
    identifier: a.identifier,
    sender: a.sender,
    sender_name: a.senderName ?? null,
    cap_status: a.status,
    msg_type: a.msgType,
    scope: a.scope,
    references_id: a.references ?? null,
    category: a.category,
    event: a.event,
    urgency: a.urgency,
    severity: a.severity,
    certainty: a.certainty,
    web: a.web ?? null,
    area_json: a.area ? JSON.stringify(a.area) : null,
    variants_json: JSON.stringify(a.variants),
    channels_json: JSON.stringify(a.channels),
    effective_at: a.effectiveAt ?? null,
    expires_at: a.expiresAt ?? null,
    state: a.state,
    author: a.author,
    reject_reason: a.rejectReason ?? null,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
    sent_at: a.sentAt ?? null,
  }
}

export interface Approval {
  announcementId: string
  approver: string
  contentHash: string
  approvedAt: number
}

export interface ListFilter {
  states?: LifecycleState[]
  /** Only Alerts, Updates or Cancels. */
  msgType?: Announcement['msgType']
  since?: number
  limit?: number
}

export type AnnouncementStore = ReturnType<typeof announcementStore>

/** What an audit row says about an announcement's text: enough to recognise it, never all of it. */
function described(a: Announcement) {
  return {severity: a.severity, status: a.status, msgType: a.msgType, channels: a.channels, headline: oneLine(primaryVariant(a).headline, 160), contentHash: contentHash(a)}
}

export function announcementStore(db: Db, audit: AuditTrail) {
  const columns = `id, identifier, sender, sender_name, cap_status, msg_type, scope, references_id, category, event,
    urgency, severity, certainty, web, area_json, variants_json, channels_json, effective_at, expires_at, state,
    author, reject_reason, created_at, updated_at, sent_at`
  const insert = db.prepare(`INSERT INTO announcement (${columns}) VALUES (${columns
    .split(',')
    .map((c) => '@' + c.trim())
    .join(', ')})`)
  const update = db.prepare(`UPDATE announcement SET category = @category, event = @event, urgency = @urgency,
      severity = @severity, certainty = @certainty, web = @web, area_json = @area_json, variants_json = @variants_json,
      channels_json = @channels_json, effective_at = @effective_at, expires_at = @expires_at, cap_status = @cap_status,
      state = @state, reject_reason = @reject_reason, updated_at = @updated_at
    WHERE id = @id`)
  const byId = db.prepare(`SELECT * FROM announcement WHERE id = ?`)
  const byPrefix = db.prepare(`SELECT id FROM announcement WHERE id >= @low AND id < @high ORDER BY id LIMIT 6`)
  const setState = db.prepare(`UPDATE announcement SET state = @state, updated_at = @now,
      sent_at = CASE WHEN @state IN ('sent', 'sent_with_failures') THEN coalesce(sent_at, @now) ELSE sent_at END,
      issued_at = CASE WHEN @state = 'sending' THEN coalesce(issued_at, @now) ELSE issued_at END
    WHERE id = @id`)
  const count = db.prepare(`SELECT count(*) AS n FROM announcement`).pluck()
  const cancelsOf = db.prepare(`SELECT id FROM announcement WHERE references_id = ? AND msg_type = 'Cancel'
    AND state NOT IN ('cancelled', 'expired') ORDER BY id`).pluck()
  const sentUpdatesOf = db.prepare(`SELECT id FROM announcement WHERE references_id = ? AND msg_type = 'Update'
    AND state IN ('sending', 'sent', 'sent_with_failures') ORDER BY id DESC`).pluck()
  const followUpsOf = db.prepare(`SELECT id, references_id AS referencesId, msg_type AS msgType, state FROM announcement
    WHERE references_id IN (SELECT value FROM json_each(?)) AND msg_type IN ('Update', 'Cancel')
      AND state NOT IN ('cancelled', 'expired') ORDER BY id`)
  // Updates withdrawn by a cancel after they had begun to go out: the public read some of them.
  const withdrawnIssuedUpdatesOf = db.prepare(`SELECT id, references_id AS referencesId FROM announcement
    WHERE references_id IN (SELECT value FROM json_each(?)) AND msg_type = 'Update' AND state = 'cancelled' AND issued_at IS NOT NULL ORDER BY id`)
  const addApproval = db.prepare(`INSERT INTO approval (announcement_id, approver, content_hash, approved_at)
    VALUES (@announcementId, @approver, @contentHash, @approvedAt)`)
  const approvalsOf = db.prepare(`SELECT announcement_id AS announcementId, approver, content_hash AS contentHash,
    approved_at AS approvedAt FROM approval WHERE announcement_id = ? ORDER BY approved_at`)
  const clearApprovals = db.prepare(`DELETE FROM approval WHERE announcement_id = ?`)
  const stateOf = db.prepare(`SELECT state FROM announcement WHERE id = ?`).pluck()
  const deliveryCounts = db.prepare(`SELECT channel, state, count(*) AS n FROM delivery WHERE announcement_id = ? GROUP BY channel, state ORDER BY channel, state`)
  const setChannelTypes = db.prepare(`UPDATE announcement SET channel_types_json = ? WHERE id = ?`)
  const setOverride = db.prepare(`UPDATE announcement SET override_by = @by, override_reason = @reason, override_at = @at,
      override_content_hash = @contentHash
    WHERE id = @id AND override_by IS NULL`)
  const setReview = db.prepare(`UPDATE announcement SET reviewed_by = @by, reviewed_at = @at, review_note = @note
    WHERE id = @id AND override_by IS NOT NULL AND reviewed_by IS NULL`)
  const unreviewed = db.prepare(`SELECT * FROM announcement WHERE override_by IS NOT NULL AND reviewed_by IS NULL ORDER BY override_at`)

  /** Deliveries per channel and state: the send result an audit row keeps (counts, never recipients). */
  function sendResult(id: string): Record<string, Record<string, number>> {
    const result: Record<string, Record<string, number>> = {}
    for (const row of deliveryCounts.all(id) as Array<{channel: string; state: string; n: number}>) (result[row.channel] ??= {})[row.state] = row.n
    return result
  }

  return {
    insert(announcement: Announcement): void {
      atomically(db, () => {
        insert.run(toRow(announcement))
        audit.append({action: 'created', subject: announcement.id, at: announcement.createdAt, details: {state: announcement.state, author: announcement.author, ...described(announcement)}})
      })
    },
    /**
     * Writes every editable field and the lifecycle state; identity and authorship never change.
     * The audit row says what changed: a rejection (with its reason), the text, or the state.
     */
    update(announcement: Announcement): void {
      atomically(db, () => {
        const before = byId.get(announcement.id) as AnnouncementRow | undefined
        update.run(toRow(announcement))
        if (!before) return
        const previous = toAnnouncement(before)
        const states = {from: previous.state, to: announcement.state}
        const at = announcement.updatedAt
        const subject = announcement.id
        const isRejection = announcement.state === 'draft' && Boolean(announcement.rejectReason) && (announcement.rejectReason !== previous.rejectReason || previous.state !== 'draft')
        if (isRejection) {
          audit.append({action: 'rejected', subject, at, details: {...states, reason: announcement.rejectReason}})
        } else if (contentHash(previous) !== contentHash(announcement)) {
          audit.append({action: 'edited', subject, at, details: {...states, ...described(announcement), previousContentHash: contentHash(previous)}})
        } else if (previous.state !== announcement.state) {
          audit.append({action: 'state-changed', subject, at, details: states})
        }
      })
    },
    get(id: string): Announcement | undefined {
      const row = byId.get(id) as AnnouncementRow | undefined
      return row ? toAnnouncement(row) : undefined
    },
    /** Ids starting with prefix (upper-cased: ULIDs are), at most 6 so ambiguity can be shown. */
    idsWithPrefix(prefix: string): string[] {
      const low = prefix.toUpperCase()
      const high = low + '\uffff'
      return byPrefix.pluck().all({low, high}) as string[]
    },
    list(filter: ListFilter = {}): Announcement[] {
      const where: string[] = []
      const params: Record<string, unknown> = {limit: filter.limit ?? -1}
      let withdrawn = ''
      if (filter.states?.length) {
        const inStates = `state IN (${filter.states.map((_, i) => `@s${i}`).join(', ')})`
        // Cancelled includes what went out and was withdrawn since: it keeps its sent state (what
        // went out went out), but a script asking what was cancelled today means it too — and
        // the whole story a Cancel of an Update withdrew: each message an issued Update replaced.
        if (filter.states.includes('cancelled')) {
          // Cancelled without a Cancel message (expired by then, or it reached nobody): the trail records it.
          withdrawn = `WITH RECURSIVE withdrawn(id) AS (
              SELECT references_id FROM announcement WHERE msg_type = 'Cancel' AND state NOT IN ('cancelled', 'expired') AND references_id IS NOT NULL
              UNION
              SELECT subject FROM audit_event WHERE action = 'cancelled' AND subject IS NOT NULL
              UNION
              SELECT u.references_id FROM announcement u JOIN withdrawn w ON u.id = w.id
                WHERE u.msg_type = 'Update' AND u.issued_at IS NOT NULL AND u.references_id IS NOT NULL)
            `
          where.push(`(${inStates} OR id IN (SELECT id FROM withdrawn))`)
        } else where.push(inStates)
        filter.states.forEach((state, i) => (params[`s${i}`] = state))
      }
      if (filter.msgType !== undefined) {
        where.push('msg_type = @msgType')
        params.msgType = filter.msgType
      }
      if (filter.since !== undefined) {
        where.push('created_at >= @since')
        params.since = filter.since
      }
      const sql = `${withdrawn}SELECT * FROM announcement ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id DESC LIMIT @limit`
      return (db.prepare(sql).all(params) as AnnouncementRow[]).map(toAnnouncement)
    },
    /** Moves the lifecycle state; a send that finished records its result per channel. */
    setState(id: string, state: LifecycleState, now: number): void {
      atomically(db, () => {
        const from = stateOf.get(id) as LifecycleState | undefined
        setState.run({id, state, now})
        if (from === undefined || from === state) return
        if (from === 'sending' && (state === 'sent' || state === 'sent_with_failures' || state === 'expired')) {
          audit.append({action: 'send-result', subject: id, at: now, details: {from, to: state, channels: sendResult(id)}})
        } else {
          audit.append({action: 'state-changed', subject: id, at: now, details: {from, to: state}})
        }
      })
    },
    /**
     * A cancelled announcement whose last delivery has settled: what it did before and after
     * the cancel (sent, cancelled, let go), recorded once — an after-action review's first
     * question is how many people got the false alarm.
     */
    recordCancelledResult(id: string, now: number): void {
      atomically(db, () => {
        if (audit.latestOf(id, 'send-result', 1).length) return
        audit.append({action: 'send-result', subject: id, at: now, details: {from: 'sending', to: 'cancelled', channels: sendResult(id)}})
      })
    },
    /**
     * Deliveries another process had settled `unknown` turned out sent (their sender's late
     * answer): the event says which channels, how many and whose answer, and the send result
     * now; `state` moves the announcement where that changes how it ended.
     */
    recordInDoubtResolved(id: string, resolved: {channels: Record<string, number>; senders: string[]; state?: LifecycleState}, now: number): void {
      atomically(db, () => {
        const from = stateOf.get(id) as LifecycleState | undefined
        if (from === undefined) return
        const to = resolved.state ?? from
        if (to !== from) setState.run({id, state: to, now})
        audit.append({
          action: 'in-doubt-resolved',
          subject: id,
          at: now,
          details: {from, to, resolved: resolved.channels, by: 'late answer of its sender', senders: resolved.senders, channels: sendResult(id)},
        })
      })
    },
    /** Cancel messages drafted or sent for this announcement (not those themselves withdrawn). */
    cancelsOf(id: string): string[] {
      return cancelsOf.all(id) as string[]
    },
    /** Updates of this announcement that went out (or are going), newest first. */
    sentUpdatesOf(id: string): string[] {
      return sentUpdatesOf.all(id) as string[]
    },
    /** The Updates and Cancels of any of these (not those themselves withdrawn), oldest first. */
    followUpsOf(ids: string[]): Array<{id: string; referencesId: string; msgType: 'Update' | 'Cancel'; state: LifecycleState}> {
      return followUpsOf.all(JSON.stringify(ids)) as Array<{id: string; referencesId: string; msgType: 'Update' | 'Cancel'; state: LifecycleState}>
    },
    /** Updates of any of these cancelled after they began to go out (their thread was withdrawn by a Cancel of them). */
    withdrawnIssuedUpdatesOf(ids: string[]): Array<{id: string; referencesId: string}> {
      return withdrawnIssuedUpdatesOf.all(JSON.stringify(ids)) as Array<{id: string; referencesId: string}>
    },
    count(): number {
      return count.get() as number
    },
    approvals(id: string): Approval[] {
      return approvalsOf.all(id) as Approval[]
    },
    addApproval(approval: Approval): void {
      atomically(db, () => {
        addApproval.run(approval)
        audit.append({action: 'approved', subject: approval.announcementId, actor: approval.approver, at: approval.approvedAt, details: {contentHash: approval.contentHash}})
      })
    },
    clearApprovals(id: string): number {
      return atomically(db, () => {
        const withdrawn = clearApprovals.run(id).changes
        if (withdrawn > 0) audit.append({action: 'approvals-withdrawn', subject: id, details: {count: withdrawn}})
        return withdrawn
      })
    },
    /** Records `crier cancel`: what it stopped, what was too late to stop, the Cancel it drafted. */
    recordCancel(id: string, details: {stopped: number; inFlight: number; followUp?: string; cancelNotDrafted?: boolean}, now: number): void {
      audit.append({action: 'cancelled', subject: id, at: now, details})
    },
    /** The type of each channel it is queued on, as configured when it was queued. */
    recordChannelTypes(id: string, types: Record<string, string>): void {
      setChannelTypes.run(JSON.stringify(types), id)
    },
    /** An Update went out in this announcement's place, stopping `stopped` of its deliveries not yet sent. */
    recordSuperseded(id: string, details: {by: string; stopped: number; held?: number}, now: number): void {
      audit.append({action: 'superseded', subject: id, at: now, details})
    },
    /** Records an emergency override once; false when the announcement already has one. */
    recordOverride(id: string, override: Pick<Override, 'by' | 'reason' | 'at' | 'contentHash'>, context: {approvalsRequired: number; approvalsValid: number}): boolean {
      return atomically(db, () => {
        if (setOverride.run({id, ...override}).changes === 0) return false
        audit.append({action: 'override', subject: id, actor: override.by, at: override.at, details: {reason: override.reason, contentHash: override.contentHash, ...context}})
        return true
      })
    },
    /** Records the review of an override once; false when there is none or it was already reviewed. */
    recordReview(id: string, review: {by: string; at: number; note?: string}): boolean {
      return atomically(db, () => {
        const overrideBy = (byId.get(id) as AnnouncementRow | undefined)?.override_by
        if (setReview.run({id, by: review.by, at: review.at, note: review.note ?? null}).changes === 0) return false
        audit.append({action: 'reviewed', subject: id, actor: review.by, at: review.at, details: {overrideBy, ...(review.note ? {note: review.note} : {})}})
        return true
      })
    },
    /** Announcements sent by override that nobody has reviewed yet, oldest first. */
    unreviewedOverrides(): Announcement[] {
      return (unreviewed.all() as AnnouncementRow[]).map(toAnnouncement)
    },
  }
}
