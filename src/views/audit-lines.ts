import {shortId} from '../core/ids.js'
import type {CapStatus} from '../core/announcement.js'
import {drillFlag} from './format.js'
import {oneLine} from '../core/terminal-text.js'
import type {AuditEvent} from '../store/audit.js'
import {formatUtc, pad} from './format.js'

// `crier audit` as text: one line per event, oldest first. Pure functions; everything shown is
// stripped of terminal control sequences (actors and reasons are typed by people).

const isAnnouncementId = (text: string) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(text)

/** The JSON shape of an event in `crier audit --json`: details parsed, the hashes kept. */
export function auditEventJson(event: AuditEvent) {
  return {...event, details: JSON.parse(event.details) as Record<string, unknown>}
}

export function auditLine(event: AuditEvent, unreviewed: ReadonlySet<string>): string {
  const subject = event.subject === null ? '—' : isAnnouncementId(event.subject) ? shortId(event.subject) : event.subject
  const details = JSON.parse(event.details) as Record<string, unknown>
  let summary = describeDetails(event.action, details)
  if (event.action === 'override' && event.subject && unreviewed.has(event.subject)) summary += '  OVERRIDE — not yet reviewed'
  return `${pad(String(event.seq), 7)} ${formatUtc(event.at)}  ${pad(oneLine(event.actor, 24), 16)} ${pad(event.action, 20)} ${pad(oneLine(subject, 24), 13)} ${oneLine(summary, 400)}`
}

function describeDetails(action: string, details: Record<string, unknown>): string {
  const text = (value: unknown) => oneLine(String(value ?? ''), 200)
  const hash = (value: unknown) => (typeof value === 'string' ? value.slice(0, 12) : '—')
  switch (action) {
    case 'created':
    case 'edited':
      return `${details.from ? `${text(details.from)} → ${text(details.to)}; ` : ''}${text(details.severity)} ${typeof details.status === 'string' ? drillFlag({status: details.status as CapStatus}) : ''}"${text(details.headline)}" to ${(details.channels as string[] | undefined)?.join(', ') ?? '—'} (content ${hash(details.contentHash)})`
    case 'approved':
      return `content ${hash(details.contentHash)}`
    case 'rejected':
      return `${text(details.from)} → ${text(details.to)}: ${text(details.reason)}`
    case 'state-changed': {
      // Deliveries sent back to the queue (a retry of the dead): how many, from where to where, and why.
      const deliveries = details.deliveries as {from?: string; to?: string; count?: number; channels?: Record<string, number>} | undefined
      if (deliveries) {
        const channels = Object.entries(deliveries.channels ?? {}).map(([channel, n]) => `${channel} ${n}`)
        return `${text(deliveries.count)} ${deliveries.count === 1 ? 'delivery' : 'deliveries'} ${text(deliveries.from)} → ${text(deliveries.to)}${channels.length ? ` (${channels.join(', ')})` : ''}: ${text(details.why)}`
      }
      return `${text(details.from)} → ${text(details.to)}`
    }
    case 'send-result': {
      const channels = Object.entries((details.channels ?? {}) as Record<string, Record<string, number>>)
      const counts = channels.map(([channel, states]) => `${channel} ${Object.entries(states).map(([state, n]) => `${state} ${n}`).join(', ')}`)
      return `${text(details.to)}: ${counts.join('; ') || 'no deliveries'}`
    }
    case 'in-doubt-resolved': {
      const resolved = Object.entries((details.resolved ?? {}) as Record<string, number>).map(([channel, n]) => `${channel} ${n}`)
      const channels = Object.entries((details.channels ?? {}) as Record<string, Record<string, number>>)
      const counts = channels.map(([channel, states]) => `${channel} ${Object.entries(states).map(([state, n]) => `${state} ${n}`).join(', ')}`)
      const states = details.from === details.to ? text(details.to) : `${text(details.from)} → ${text(details.to)}`
      return `unknown → sent by its sender's late answer (${resolved.join(', ')}); ${states}: ${counts.join('; ')}`
    }
    case 'cancelled':
      return `stopped ${text(details.stopped)} not yet sent, ${text(details.inFlight)} in flight; ${typeof details.followUp === 'string' ? `Cancel ${shortId(details.followUp)}` : 'no Cancel needed'}`
    case 'superseded':
      return `by Update ${typeof details.by === 'string' ? shortId(details.by) : '—'}: stopped ${text(details.stopped)} not yet sent${details.held ? `, ${text(details.held)} held by a sender` : ''}`
    case 'override':
      return `approvals ${text(details.approvalsValid)}/${text(details.approvalsRequired)}, content ${hash(details.contentHash)}: ${text(details.reason) || '(no reason given)'}`
    case 'reviewed':
      return `override by ${text(details.overrideBy)}${details.note ? `: ${text(details.note)}` : ''}`
    case 'previewed':
      return `content ${hash(details.contentHash)}`
    case 'config-loaded':
      return `${text(details.source)} sha256 ${hash(details.sha256)}`
    default:
      return Object.entries(details)
        .map(([key, value]) => `${key}=${typeof value === 'object' && value !== null ? JSON.stringify(value) : text(value)}`)
        .join(' ')
  }
}
