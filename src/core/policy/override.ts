import type {Announcement} from '../announcement.js'
import type {Policy} from '../../config/schema.js'
import {redact} from '../../config/secrets.js'
import {PolicyRefusal, UsageError} from '../errors.js'
import {shortId} from '../ids.js'
import {oneLine} from '../terminal-text.js'

// The emergency override: one officer sends an Extreme announcement without its remaining
// approvals, where policy allows it. It skips approvals only: every other policy finding still
// blocks. It is recorded with the reason and stays flagged until another officer reviews it.

/** `broadcast --override [--reason …]` as typed. */
export interface OverrideRequest {
  reason?: string
}

const maxReasonLength = 1000

/** The reason as stored: control characters and line breaks stripped, known secrets redacted. */
export function cleanReason(text: string | undefined): string {
  return oneLine(redact(text ?? ''), maxReasonLength)
}

/**
 * Refuses an override policy does not allow (exit 3) or one without the reason policy asks
 * for (exit 2); returns the reason to record.
 */
export function checkOverride(announcement: Announcement, policy: Policy, request: OverrideRequest, severity: Announcement['severity'] = announcement.severity): string {
  const id = shortId(announcement.id)
  if (!policy.emergencyOverride.allowed) {
    throw new PolicyRefusal(`policy does not allow emergency overrides (policy.emergencyOverride.allowed is false) — ${id} needs its approvals: ask another officer to run crier approve ${id}`)
  }
  // `severity`: the one whose approvals it needs — an Update of an Extreme alert may be overridden.
  if (severity !== 'Extreme') {
    throw new PolicyRefusal(`--override is only for Extreme announcements and ${id} is ${announcement.severity} — ask another officer to run crier approve ${id}`)
  }
  const reason = cleanReason(request.reason)
  if (policy.emergencyOverride.reasonRequired && reason === '') {
    throw new UsageError('--override needs --reason "…" — say why this cannot wait for a second approval; it is recorded and reviewed')
  }
  return reason
}
