import type {Announcement} from '../core/announcement.js'

// Lower runs first. Severity dominates; within a severity, Immediate beats Expected and so on,
// so an Extreme/Immediate evacuation order is claimed before a Minor bulletin.

const severityRank: Record<Announcement['severity'], number> = {Extreme: 0, Severe: 1, Moderate: 2, Unknown: 2, Minor: 3}
const urgencyRank: Record<Announcement['urgency'], number> = {Immediate: 0, Expected: 1, Unknown: 2, Future: 3, Past: 4}

export function deliveryPriority(announcement: Pick<Announcement, 'severity' | 'urgency'>): number {
  return severityRank[announcement.severity] * 10 + urgencyRank[announcement.urgency]
}
