import type {Announcement} from './announcement.js'
import type {CoreContext} from './context.js'
import type {Approval} from '../store/announcements.js'
import {PolicyRefusal, UsageError} from './errors.js'
import {transition} from './lifecycle.js'
import {followUpThread} from './announcement.js'
import {approvalStatus, assertMayApprove, contentHash, type ApprovalStatus} from './policy/approvals.js'
import {findingsBlockingApproval, type Finding} from './policy/check.js'
import {judgeAnnouncement} from './policy/judge.js'
import {oneLine} from './terminal-text.js'
import {shortId} from './ids.js'
import {sameOfficer} from './officer.js'
import {formatInZone} from './when.js'

export interface ApproveResult {
  announcement: Announcement
  approvals: ApprovalStatus
  findings: Finding[]
}

/**
 * The text an approver previewed is the text they approve: an edit made between their preview
 * and their approval (the author, meanwhile) would otherwise carry their name on words they
 * never read. Approving without a preview is their call; approving a changed text is refused.
 */
function refuseChangedSincePreview(ctx: CoreContext, announcement: Announcement): void {
  const [previewed] = ctx.store.audit.latestOf(announcement.id, 'previewed').filter((event) => sameOfficer(event.actor, ctx.user))
  if (!previewed || previewed.details.contentHash === contentHash(announcement)) return
  const id = shortId(announcement.id)
  const editors = ctx.store.audit.latestOf(announcement.id, 'edited').filter((event) => event.at >= previewed.at).map((event) => event.actor)
  const by = editors.length ? ` by ${[...new Set(editors)].join(', ')}` : ''
  throw new PolicyRefusal(`${id} was changed${by} since you previewed it (${formatInZone(previewed.at, ctx.config.timezone)}) — read it again (crier preview ${id}), then approve what you read`)
}

/**
 * Records that the acting user read the announcement as it is now (crier preview): their
 * approval is of this text. Skipped while another crier holds the database (a long import): a
 * preview never waits on a write, and an approval without a recorded preview is as before.
 */
export function recordPreview(ctx: CoreContext, announcement: Announcement): boolean {
  return ctx.store.audit.appendIfFree({action: 'previewed', subject: announcement.id, details: {contentHash: contentHash(announcement)}, at: ctx.now()})
}

/** Where approval of `announcement` stands, counting the messages it follows up (approvalStatus). */
export function approvalsOf(ctx: Pick<CoreContext, 'store' | 'config'>, announcement: Announcement): ApprovalStatus {
  // The announcement as given (a draft not yet stored, an edit not yet written) leads its thread.
  const get = (id: string) => (id === announcement.id ? announcement : ctx.store.announcements.get(id))
  const earlier = followUpThread(announcement.id, get).slice(1).flatMap((id) => get(id) ?? [])
  const status = approvalStatus(announcement, ctx.store.announcements.approvals(announcement.id), ctx.config.policy, earlier)
  const editors = ctx.store.audit.actorsOf(announcement.id, 'edited')
  return editors.length ? {...status, editors} : status
}

/**
 * Where a text that is not yet approved waits: `pending_approval` when policy asks for any
 * approval (what approvers list with crier list --status pending_approval), else `draft`.
 */
export function unapprovedState(ctx: Pick<CoreContext, 'store' | 'config'>, announcement: Announcement): 'draft' | 'pending_approval' {
  return approvalsOf(ctx, announcement).required > 0 ? 'pending_approval' : 'draft'
}

/** Records the acting user's approval of the current text, after the same policy check as broadcast. */
export function approveAnnouncement(ctx: CoreContext, id: string): ApproveResult {
  return ctx.store.transaction(() => {
    const current = mustGet(ctx, id)
    const at = ctx.now()
    const {findings} = judgeAnnouncement(ctx, current, at)
    // Approved or scheduled, yet short of what policy asks now (raised since): the approval it
    // lacks is taken where it stands, so that what it says to do — another officer approves —
    // can be done. Otherwise an illegal transition is refused before anything else, so "cannot
    // approve — it has been sent" wins.
    const shortOfPolicy = (current.state === 'approved' || current.state === 'scheduled') && !approvalsOf(ctx, current).satisfied
    if (!shortOfPolicy) transition(current.state, 'approve', id.slice(0, 12))
    refuseRejected(ctx, current, 'approve')
    const blocking = findingsBlockingApproval(findings)
    if (blocking.length) throw new PolicyRefusal(`cannot approve — ${blocking.map((f) => f.message).join('; ')}`)
    const approvals = ctx.store.announcements.approvals(id)
    assertMayApprove(current, ctx.user, approvals, ctx.config.policy, ctx.store.audit.actorsOf(id, 'edited'))
    refuseChangedSincePreview(ctx, current)
    withdrawStaleApprovals(ctx, current, approvals)
    ctx.store.announcements.addApproval({announcementId: id, approver: ctx.user, contentHash: contentHash(current), approvedAt: at})
    const status = approvalsOf(ctx, current)
    const next: Announcement = {...current, state: shortOfPolicy ? current.state : transition(current.state, status.satisfied ? 'approve' : 'approve-partially'), updatedAt: at}
    ctx.store.announcements.update(next)
    return {announcement: next, approvals: status, findings}
  })
}

/** Sends an announcement back to its author as a draft, with the reason; approvals are withdrawn. */
export function rejectAnnouncement(ctx: CoreContext, id: string, reason: string): Announcement {
  // Shown later by show and list on someone's terminal: one line, no control sequences.
  const said = oneLine(reason, 2000)
  if (!said) throw new UsageError('--reason is required — say what must change')
  return ctx.store.transaction(() => {
    const current = mustGet(ctx, id)
    const next: Announcement = {...current, state: transition(current.state, 'reject', id.slice(0, 12)), rejectReason: said, updatedAt: ctx.now()}
    ctx.store.announcements.clearApprovals(id)
    ctx.store.announcements.update(next)
    return next
  })
}

/**
 * Approvals of an earlier text count for nothing; they are removed before a new approval is
 * recorded, so their approvers may approve the current text (one row per person).
 */
function withdrawStaleApprovals(ctx: CoreContext, announcement: Announcement, approvals: Approval[]): void {
  const hash = contentHash(announcement)
  if (approvals.every((approval) => approval.contentHash === hash)) return
  ctx.store.announcements.clearApprovals(announcement.id)
  for (const approval of approvals) if (approval.contentHash === hash) ctx.store.announcements.addApproval(approval)
}

/**
 * A rejected text stays rejected until someone changes it (an edit clears the rejection): it may
 * not be approved, scheduled or sent — not even by override — as it stands. "Do not send this"
 * from a second officer is not overruled by a third, or by the author alone, without a change.
 */
export function refuseRejected(ctx: CoreContext, announcement: Announcement, doing: string): void {
  if (!announcement.rejectReason) return
  const id = announcement.id.slice(0, 12)
  const by = ctx.store.audit.actorsOf(announcement.id, 'rejected').at(-1)
  throw new PolicyRefusal(`cannot ${doing} ${id} — ${by ? `${by} rejected it` : 'it was rejected'}: "${announcement.rejectReason}"; change what the rejection asks (crier edit ${id} …), which clears it, then ask again`)
}

export function mustGet(ctx: CoreContext, id: string): Announcement {
  const announcement = ctx.store.announcements.get(id)
  if (!announcement) throw new UsageError(`no announcement with id ${id} — see crier list`)
  return announcement
}
