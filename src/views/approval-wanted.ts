import type {Announcement} from '../core/announcement.js'
import type {ApprovalStatus} from '../core/policy/approvals.js'

/**
 * Who must still approve, in words: "1 more, by an officer other than insp.evans and sgt.jones"
 * — with two needed, "another officer" would send the second approver looking for a third.
 */
export function approvalsWanted(announcement: Pick<Announcement, 'author'>, status: Pick<ApprovalStatus, 'required' | 'valid' | 'authorMayApprove' | 'editors'>): string {
  const remaining = Math.max(0, status.required - status.valid.length)
  // Whoever wrote any of it (author, editors) where policy wants another pair of eyes, then those who approved.
  const writers = status.authorMayApprove ? [] : [announcement.author, ...(status.editors ?? [])]
  const notBy = [...new Set([...writers, ...status.valid.map((approval) => approval.approver)])]
  const others = notBy.length ? ` other than ${joinedWithAnd(notBy)}` : ''
  const more = status.valid.length ? ' more' : ''
  return remaining === 1 ? `1${more}, by an officer${others}` : `${remaining}${more}, by officers${others} (one each)`
}

function joinedWithAnd(names: string[]): string {
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`
}
