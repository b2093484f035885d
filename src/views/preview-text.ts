import type {Preview} from '../core/preview.js'
import {shortId} from '../core/ids.js'
import {stripTerminalControls} from '../core/terminal-text.js'
import {redact} from '../config/secrets.js'
import {approvalsWanted} from './approval-wanted.js'
import {areaReachLine} from './area-reach-lines.js'
import {drillFlag} from './format.js'

/** The preview as plain text: per channel, each part exactly, with its length against the limit. */
export function previewText(preview: Preview): string {
  const lines: string[] = []
  const a = preview.announcement
  lines.push(`${shortId(a.id)}  ${a.severity}  ${drillFlag(a)}${stripTerminalControls(a.variants[0]!.headline)}`)
  for (const channel of preview.channels) {
    lines.push('', `── ${channel.channel} (${channel.type}${channel.language ? `, ${channel.language} readers` : ''}) ──`)
    for (const part of channel.parts) {
      const length = part.length ? `  [${part.length.count}/${part.length.limit} ${part.length.unit}]` : ''
      lines.push(`${redact(part.label)}${length}`, stripTerminalControls(redact(part.text)).replace(/\n+$/, ''))
    }
  }
  lines.push('')
  for (const reach of preview.targeting) lines.push(`Targeted: ${areaReachLine(reach)}`)
  if (preview.findings.length === 0) lines.push('Policy: no findings.')
  for (const finding of preview.findings) lines.push(`Policy ${finding.level}: ${finding.message}`)
  const {required, valid} = preview.approvals
  const approvedBy = valid.length ? ` — approved by ${valid.map((approval) => approval.approver).join(', ')}` : ''
  const wanted = valid.length >= required ? ' — ready' : `; needs ${approvalsWanted(a, preview.approvals)}: crier approve ${shortId(a.id)}`
  lines.push(required === 0 ? 'Approval: not needed.' : `Approval: ${valid.length}/${required}${approvedBy}${wanted}`)
  return lines.join('\n')
}
