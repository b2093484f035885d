import {createHash} from 'node:crypto'
import type {Announcement} from '../announcement.js'
import type {Policy} from '../../config/schema.js'
import type {Approval} from '../../store/announcements.js'
import {PolicyRefusal} from '../errors.js'
import {shortId} from '../ids.js'
import {counted} from '../counted.js'
import {officerKey, sameOfficer} from '../officer.js'

/** How many approvals an announcement of this severity needs before it may go. */
export function requiredApprovals(policy: Policy, severity: Announcement['severity']): number {
  return policy.approvals.bySeverity[severity] ?? policy.approvals.default
}

/**
 * SHA-256 of what an approver approves: the text and every field that changes what the public
 * sees or who receives it. An approval counts only while this hash still matches.
 */
export function contentHash(a: Announcement): string {
  const content = {
    status: a.status,
    msgType: a.msgType,
    references: a.references ?? null,
    category: a.category,
    event: a.event,
    urgency: a.urgency,
    severity: a.severity,
    certainty: a.certainty,
    web: a.web ?? null,
    area: a.area ?? null,
    variants: a.variants,
    channels: a.channels,
    effectiveAt: a.effectiveAt ?? null,
    expiresAt: a.expiresAt ?? null,
  }
  return createHash('sha256').update(JSON.stringify(content)).digest('hex')
}

export interface ApprovalStatus {
  required: number
  /** Approvals that still match the text and come from someone policy lets approve. */
  valid: Approval[]
  /** Approvals given to an earlier text: they no longer count (the approver approved that text). */
  stale: Approval[]
  satisfied: boolean
  /** Policy lets the author approve their own (authorMayApprove). */
  authorMayApprove: boolean
  /** Those who edited it (approvalsOf reads them): like the author, they may not approve it. */
  editors?: string[]
  /**
   * It follows up a message whose severity needs more approvals than its own: it needs those.
   * An Update typed Minor that lifts an Extreme evacuation order is no less grave than the order.
   */
  followsUp?: {id: string; severity: Announcement['severity']}
}

/**
 * Where approval stands. `earlier`: the messages it follows up (an Update's or Cancel's thread);
 * it needs as many approvals as the gravest of them.
 */
export function approvalStatus(announcement: Announcement, approvals: Approval[], policy: Policy, earlier: ReadonlyArray<Pick<Announcement, 'id' | 'severity'>> = []): ApprovalStatus {
  let required = requiredApprovals(policy, announcement.severity)
  let followsUp: ApprovalStatus['followsUp']
  for (const message of earlier) {
    const needs = requiredApprovals(policy, message.severity)
    if (needs > required) {
      required = needs
      followsUp = {id: message.id, severity: message.severity}
    }
  }
  const hash = contentHash(announcement)
  const stale = approvals.filter((approval) => approval.contentHash !== hash)
  // One person counts once, however their name was typed.
  const counted = new Set<string>()
  const valid = approvals.filter((approval) => {
    if (approval.contentHash !== hash || counted.has(officerKey(approval.approver))) return false
    if (!policy.approvals.authorMayApprove && sameOfficer(approval.approver, announcement.author)) return false
    counted.add(officerKey(approval.approver))
    return true
  })
  return {required, valid, stale, satisfied: valid.length >= required, authorMayApprove: policy.approvals.authorMayApprove, ...(followsUp && {followsUp})}
}

/** The severity whose approvals an announcement needs: its own, or that of the graver message it follows up. */
export function approvalSeverity(announcement: Announcement, status: ApprovalStatus): Announcement['severity'] {
  return status.followsUp?.severity ?? announcement.severity
}

/**
 * Why an announcement may not go yet, in one line: how many approvals it needs and has, whose
 * approvals no longer match the text, and what to do. `action` is "be sent", "be scheduled".
 */
export function approvalShortfall(announcement: Announcement, status: ApprovalStatus, action: string): string {
  const id = shortId(announcement.id)
  const needs = counted(status.required, 'approval')
  const has = status.valid.length ? `${status.valid.length} (${status.valid.map((approval) => approval.approver).join(', ')})` : '0'
  const stale = status.stale.length
    ? `; the approval${status.stale.length === 1 ? '' : 's'} by ${status.stale.map((approval) => approval.approver).join(', ')} no longer match${status.stale.length === 1 ? 'es' : ''} the text, which changed after approval`
    : ''
  const grave = status.followsUp ? `, following up ${status.followsUp.severity} ${shortId(status.followsUp.id)}` : ''
  return `${id} (${announcement.severity}${grave}) needs ${needs} before it can ${action} and has ${has}${stale} — ask another officer to run crier approve ${id}`
}

/**
 * Refuses an approval policy does not allow: the author's own, one by anyone who edited it (they
 * wrote some of what goes out: the second pair of eyes must be someone else's), or a second one
 * by one person.
 */
export function assertMayApprove(announcement: Announcement, approver: string, approvals: Approval[], policy: Policy, editors: string[] = []): void {
  // Where no approval is needed, the author's own is harmless: it only marks it approved.
  const required = requiredApprovals(policy, announcement.severity)
  if (required > 0 && !policy.approvals.authorMayApprove) {
    if (sameOfficer(approver, announcement.author)) {
      throw new PolicyRefusal(`${approver} wrote this announcement and policy needs someone else to approve it — ask another officer (CRIER_USER names who is approving)`)
    }
    if (editors.some((editor) => sameOfficer(editor, approver))) {
      throw new PolicyRefusal(`${approver} edited this announcement and policy needs someone who did not write it to approve it — ask another officer (CRIER_USER names who is approving)`)
    }
  }
  // An approval of an earlier text does not count, so its approver may approve this one.
  const hash = contentHash(announcement)
  if (approvals.some((approval) => sameOfficer(approval.approver, approver) && approval.contentHash === hash)) {
    throw new PolicyRefusal(`${approver} has already approved this announcement — policy counts one approval per person`)
  }
}
