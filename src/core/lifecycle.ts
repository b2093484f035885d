import type {LifecycleState} from './announcement.js'
import {PolicyRefusal} from './errors.js'

// The announcement lifecycle of DESIGN.md as an explicit state machine: every change of state
// goes through `transition`, and an illegal one is refused with the reason (exit 3).

export type LifecycleEvent =
  | 'edit'
  | 'approve'
  | 'approve-partially'
  | 'reject'
  | 'schedule'
  | 'unschedule'
  | 'start-sending'
  | 'finish'
  | 'finish-with-failures'
  | 'cancel'
  | 'expire'
  | 'complete-schedule'
  | 'retry'
  | 'resolve-in-doubt'

// edit: which states may be edited. Where the edited text then waits, draft or
// pending_approval, is policy's answer (unapprovedState in approval.ts), not the table's.
const transitions: Record<LifecycleState, Partial<Record<LifecycleEvent, LifecycleState>>> = {
  draft: {edit: 'draft', reject: 'draft', approve: 'approved', 'approve-partially': 'pending_approval', 'start-sending': 'sending', schedule: 'scheduled', cancel: 'cancelled', expire: 'expired'},
  // start-sending from draft or pending_approval is allowed only when policy needs no (more)
  // approvals; the caller checks that.
  pending_approval: {edit: 'pending_approval', approve: 'approved', 'approve-partially': 'pending_approval', reject: 'draft', 'start-sending': 'sending', schedule: 'scheduled', cancel: 'cancelled', expire: 'expired'},
  // Editing approved text withdraws the approvals: the approvers approved that text.
  approved: {edit: 'pending_approval', reject: 'draft', 'start-sending': 'sending', schedule: 'scheduled', cancel: 'cancelled', expire: 'expired'},
  // complete-schedule: a recurring announcement's last occurrence has fired. The template itself
  // was never sent (each occurrence is an announcement of its own): it is approved again, as
  // after unschedule — scheduled again or broadcast as it stands.
  scheduled: {unschedule: 'approved', 'start-sending': 'sending', 'complete-schedule': 'approved', cancel: 'cancelled', expire: 'expired'},
  // expire: every delivery expired before it could go — it reached no one.
  sending: {finish: 'sent', 'finish-with-failures': 'sent_with_failures', cancel: 'cancelled', expire: 'expired'},
  sent: {},
  // retry: what ended dead through transient failures (an outage outlasting the attempts) is sent again.
  // resolve-in-doubt: its last `unknown` delivery was sent after all (its sender's late answer).
  sent_with_failures: {retry: 'sending', 'resolve-in-doubt': 'sent'},
  cancelled: {},
  expired: {},
}

const why: Partial<Record<LifecycleState, string>> = {
  scheduled: 'it is scheduled — unschedule it first (crier unschedule), or crier cancel it',
  sending: 'it is being sent — use crier update or crier cancel',
  sent: 'it has been sent — use crier update or crier cancel',
  sent_with_failures: 'it has been sent — use crier update or crier cancel',
  cancelled: 'it was cancelled — for what is true now, draft a new announcement (crier draft …)',
  expired: 'it has expired — for what is true now, draft a new announcement (crier draft …)',
  approved: 'it is approved already — crier broadcast or crier schedule it',
}

const verbs: Record<LifecycleEvent, string> = {
  edit: 'edit',
  approve: 'approve',
  'approve-partially': 'approve',
  reject: 'reject',
  schedule: 'schedule',
  unschedule: 'unschedule',
  'start-sending': 'broadcast',
  finish: 'finish',
  'finish-with-failures': 'finish',
  cancel: 'cancel',
  expire: 'expire',
  'complete-schedule': 'complete the schedule of',
  retry: 'retry the dead deliveries of',
  'resolve-in-doubt': 'resolve the deliveries in doubt of',
}

export function canTransition(from: LifecycleState, event: LifecycleEvent): boolean {
  return transitions[from][event] !== undefined
}

/** The state after `event`, or a PolicyRefusal saying why it cannot happen now. */
export function transition(from: LifecycleState, event: LifecycleEvent, id = ''): LifecycleState {
  const to = transitions[from][event]
  if (to) return to
  const reason = why[from] ?? `it is ${from.replace('_', ' ')}`
  throw new PolicyRefusal(`cannot ${verbs[event]} ${id ? id + ' ' : ''}— ${reason}`.replace('  ', ' '))
}

export const finalStates: readonly LifecycleState[] = ['sent', 'sent_with_failures', 'cancelled', 'expired']
