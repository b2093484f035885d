import type {Config} from '../config/load.js'
import {shortId} from '../core/ids.js'
import {oneLine} from '../core/terminal-text.js'
import type {AnnouncementRef, ShiftDashboard} from '../engine/dashboard.js'
import {broadcastSummaryLines} from './broadcast-lines.js'
import {announcementLine, drillFlag, formatTime, scheduleHow, supersededFlag} from './format.js'

/** The shift-start dashboard as plain text: one heading per part that has something in it. */
export function dashboardLines(board: ShiftDashboard, config: Config): string[] {
  const lines: string[] = []
  const title = (ref: AnnouncementRef) => `${shortId(ref.id)}  ${ref.severity.padEnd(8)} ${drillFlag(ref)}${oneLine(ref.headline, 100)}`
  if (board.untoldCancels.length) {
    lines.push('Cancelled, but the public is not told yet')
    for (const {cancel, original} of board.untoldCancels) {
      const id = shortId(cancel.id)
      const approve = cancel.state === 'pending_approval' ? `, another officer crier approve ${id}` : ''
      lines.push(`  ${title(original)}  withdrawn; its Cancel ${id} is ${cancel.state.replace('_', ' ')} — crier preview ${id}${approve}, then crier broadcast ${id}`)
    }
  }
  if (board.sending.length) {
    lines.push('Sending now')
    for (const status of board.sending) {
      lines.push('  ' + announcementLine(status.announcement))
      for (const line of broadcastSummaryLines(status, config)) lines.push('    ' + line)
    }
  }
  if (board.scheduled.length) {
    lines.push('Scheduled next')
    for (const next of board.scheduled) {
      lines.push(`  ${formatTime(next.at)}  ${title(next.announcement)}  (${scheduleHow(next)})`)
    }
  }
  if (board.awaitingApproval.length) {
    lines.push('Waiting for approval')
    for (const waiting of board.awaitingApproval) {
      const by = waiting.approvedBy.length ? ` (${waiting.approvedBy.join(', ')})` : ''
      lines.push(`  ${title(waiting.announcement)}  approvals ${waiting.approvedBy.length}/${waiting.required}${by} — crier approve ${shortId(waiting.announcement.id)} (not ${waiting.author})`)
    }
  }
  if (board.trouble.length || board.missedOccurrences.length) {
    lines.push('Needs attention (last 24 h)')
    for (const item of board.trouble) {
      const error = item.error ? `: ${oneLine(item.error, 160)}` : ''
      lines.push(`  ${item.state.toUpperCase()} ${item.count} on ${item.channel}  ${supersededFlag(item)}${title(item.announcement)}  last ${formatTime(item.lastAt)}${error} — crier status ${shortId(item.announcement.id)}`)
    }
  }
  // Unindented, as crier run reports them: one line per missed occurrence.
  for (const m of board.missedOccurrences) lines.push(`MISSED ${shortId(m.templateId)} occurrence due ${new Date(m.dueAt).toISOString()}: ${oneLine(m.reason ?? '', 200)}`)
  if (lines.length === 0) lines.push('Nothing sending, scheduled or waiting for approval, no Cancel waiting to go out, and nothing went wrong in the last 24 h.')
  return lines
}
