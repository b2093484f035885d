import stringWidth from 'string-width'
import type {Config} from '../config/load.js'
import {counted} from '../core/counted.js'
import {shortId} from '../core/ids.js'
import {oneLine} from '../core/terminal-text.js'
import type {AnnouncementRef, ShiftDashboard} from '../engine/dashboard.js'
import {broadcastSummaryLines} from './broadcast-lines.js'
import {announcementLine, drillFlag, formatTime, scheduleHow, supersededFlag} from './format.js'
import {cut, wrap} from './fit-width.js'

/**
 * The shift-start dashboard as plain text: one heading per part that has something in it. With
 * `width` (a terminal's, or COLUMNS), an item that would wrap puts what to do on a line of its
 * own and cuts what still does not fit — it is read over SSH in 80 columns at the start of a shift.
 */
export function dashboardLines(board: ShiftDashboard, config: Config, width?: number): string[] {
  const lines: string[] = []
  /** One item: what it is, then what to do about it. */
  const item = (what: string, todo: string, between = '  ') => {
    const whole = `${what}${between}${todo}`
    if (width === undefined || stringWidth(whole) <= width) lines.push(whole)
    else lines.push(cut(what, width), ...wrap(todo.trim(), width, '    '))
  }
  const title = (ref: AnnouncementRef) => `${shortId(ref.id)}  ${ref.severity.padEnd(8)} ${drillFlag(ref)}${oneLine(ref.headline, 100)}`
  if (board.untoldCancels.length) {
    lines.push('Cancelled, but the public is not told yet')
    for (const {cancel, original, rejectReason, notReached} of board.untoldCancels) {
      const id = shortId(cancel.id)
      if (rejectReason) {
        item(`  ${title(original)}`, `withdrawn; its Cancel ${id} was rejected ("${oneLine(rejectReason, 100)}") — its author changes it (crier edit ${id} …), then it is approved and sent`)
        continue
      }
      if (notReached) {
        item(`  ${title(original)}`, `withdrawn; its Cancel ${id} did not reach ${notReached.join(', ')} (dead: crier status ${id}) — once that is put right, crier broadcast ${id} --retry-dead`)
        continue
      }
      const approve = cancel.state === 'pending_approval' ? `, another officer crier approve ${id}` : ''
      item(`  ${title(original)}`, `withdrawn; its Cancel ${id} is ${cancel.state.replace('_', ' ')} — crier preview ${id}${approve}, then crier broadcast ${id}`)
    }
  }
  if (board.sending.length) {
    lines.push('Sending now')
    for (const status of board.sending) {
      const fit = (line: string) => (width === undefined ? line : cut(line, width))
      lines.push(fit('  ' + announcementLine(status.announcement, config.timezone)))
      for (const line of broadcastSummaryLines(status, config)) lines.push(...(width === undefined ? ['    ' + line] : wrap(line, width, '    ')))
    }
  }
  if (board.scheduled.length) {
    lines.push('Scheduled next')
    for (const next of board.scheduled) {
      item(`  ${formatTime(next.at, config.timezone)}  ${title(next.announcement)}`, `(${scheduleHow(next)})`)
    }
    if (board.scheduledNotShown > 0) lines.push(`  … and ${counted(board.scheduledNotShown, 'more schedule')} (crier list --status scheduled has them all)`)
  }
  if (board.awaitingApproval.length) {
    lines.push('Waiting for approval')
    for (const waiting of board.awaitingApproval) {
      const by = waiting.approvedBy.length ? ` (${waiting.approvedBy.join(', ')})` : ''
      item(`  ${title(waiting.announcement)}`, `approvals ${waiting.approvedBy.length}/${waiting.required}${by} — crier approve ${shortId(waiting.announcement.id)} (not ${[...new Set([waiting.author, ...waiting.editors, ...waiting.approvedBy])].join(', ')})`)
    }
  }
  if (board.unreviewedOverrides.length) {
    lines.push('Sent by emergency override, not yet reviewed')
    for (const o of board.unreviewedOverrides) {
      item(`  ${title(o.announcement)}`, `by ${o.by} ${formatTime(o.at, config.timezone)}: "${oneLine(o.reason, 120)}" — another officer: crier review ${shortId(o.announcement.id)}`)
    }
  }
  if (board.trouble.length || board.missedOccurrences.length) {
    lines.push('Needs attention (last 24 h)')
    for (const trouble of board.trouble) {
      // One of their errors (they may differ), not necessarily the last one's.
      const error = trouble.error ? `, e.g. ${oneLine(trouble.error, 160)}` : ''
      item(`  ${trouble.state.toUpperCase()} ${trouble.count} on ${trouble.channel}  ${supersededFlag(trouble)}${title(trouble.announcement)}`, `last ${formatTime(trouble.lastAt, config.timezone)}${error} — crier status ${shortId(trouble.announcement.id)}`)
    }
  }
  // Unindented, as crier run reports them: one line per missed occurrence.
  for (const m of board.missedOccurrences) item(`MISSED ${shortId(m.templateId)} occurrence due ${formatTime(m.dueAt, config.timezone)}:`, oneLine(m.reason ?? '', 200), ' ')
  const unlisted = board.missedOccurrencesCount - board.missedOccurrences.length
  if (unlisted > 0) lines.push(`… and ${counted(unlisted, 'earlier missed occurrence')} in the last 24 h (crier audit --since 24h has them all)`)
  if (lines.length === 0) {
    const quiet = 'Nothing sending, scheduled or waiting for approval, no Cancel waiting to go out, and nothing went wrong in the last 24 h.'
    lines.push(...(width === undefined ? [quiet] : wrap(quiet, width, '')))
  }
  return lines
}
