import type {Announcement, Area, LifecycleState, Variant} from '../core/announcement.js'
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
  since?: number
  limit?: number
}

export type AnnouncementStore = ReturnType<typeof announcementStore>

export function announcementStore(db: Db) {
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
      sent_at = CASE WHEN @state IN ('sent', 'sent_with_failures') THEN @now ELSE sent_at END
    WHERE id = @id`)
  const count = db.prepare(`SELECT count(*) AS n FROM announcement`).pluck()
  const addApproval = db.prepare(`INSERT INTO approval (announcement_id, approver, content_hash, approved_at)
    VALUES (@announcementId, @approver, @contentHash, @approvedAt)`)
  const approvalsOf = db.prepare(`SELECT announcement_id AS announcementId, approver, content_hash AS contentHash,
    approved_at AS approvedAt FROM approval WHERE announcement_id = ? ORDER BY approved_at`)
  const clearApprovals = db.prepare(`DELETE FROM approval WHERE announcement_id = ?`)

  return {
    insert(announcement: Announcement): void {
      insert.run(toRow(announcement))
    },
    /** Writes every editable field and the lifecycle state; identity and authorship never change. */
    update(announcement: Announcement): void {
      update.run(toRow(announcement))
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
      if (filter.states?.length) {
        where.push(`state IN (${filter.states.map((_, i) => `@s${i}`).join(', ')})`)
        filter.states.forEach((state, i) => (params[`s${i}`] = state))
      }
      if (filter.since !== undefined) {
        where.push('created_at >= @since')
        params.since = filter.since
      }
      const sql = `SELECT * FROM announcement ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id DESC LIMIT @limit`
      return (db.prepare(sql).all(params) as AnnouncementRow[]).map(toAnnouncement)
    },
    setState(id: string, state: LifecycleState, now: number): void {
      setState.run({id, state, now})
    },
    count(): number {
      return count.get() as number
    },
    approvals(id: string): Approval[] {
      return approvalsOf.all(id) as Approval[]
    },
    addApproval(approval: Approval): void {
      addApproval.run(approval)
    },
    clearApprovals(id: string): number {
      return clearApprovals.run(id).changes
    },
  }
}
