import type {RenderedPart} from '../../channels/driver.js'
import {redact} from '../../config/secrets.js'
import {primaryVariant} from '../../core/announcement.js'
import {shortId} from '../../core/ids.js'
import type {Preview} from '../../core/preview.js'
import {oneLine, stripTerminalControls} from '../../core/terminal-text.js'
import {formatFromNow, formatInZone} from '../../core/when.js'
import {isTargeted} from '../../core/area-targeting.js'
import {areaReachLine, areaTargetsText} from '../../views/area-reach-lines.js'
import {pad} from '../../views/format.js'

// The summary shown before guided drafting's final "Create this draft?": the answers, the
// start of the text (written in $EDITOR, it has not been on screen), and per channel what
// `crier preview` would say about length and policy — short enough for 80×24. The full
// rendered text is left to `crier preview`.

/** Lines of the text shown, each cut to fit 80 columns under "Text: ". */
const textLines = 4
const textWidth = 72

const unitWords: Record<NonNullable<RenderedPart['length']>['unit'], string> = {
  characters: 'characters',
  graphemes: 'characters',
  'x-weighted': 'characters (X weighting)',
  'sms-segments': 'SMS segments',
  bytes: 'bytes',
}

/** One channel's parts as "574/1048576 bytes", "2 parts: 280/280, 91/280 characters", "no length limit". */
export function channelLengths(parts: RenderedPart[]): string {
  if (parts.length === 0) return 'nothing to publish'
  const measured = parts.filter((part) => part.length)
  if (measured.length === 0) return parts.length === 1 ? 'no length limit' : `${parts.length} parts, no length limit`
  const counts = measured.map(({length}) => `${length!.count}/${length!.limit}${length!.count > length!.limit ? ' (over the limit)' : ''}`)
  const unit = unitWords[measured[0]!.length!.unit]
  return `${parts.length > 1 ? `${parts.length} parts: ` : ''}${counts.join(', ')} ${unit}`
}

/**
 * The summary lines, plain text (no colour): the caller prints them above the confirm. The
 * previewed draft is not saved and its id is not the one it will get, so hints that name it
 * ("crier edit 01M8… --area") say ID instead.
 */
export function draftSummary(preview: Preview, now: number, timeZone: string): string {
  const a = preview.announcement
  const variant = primaryVariant(a)
  const safe = (text: string) => stripTerminalControls(redact(text))
  const withoutId = (text: string) => text.replaceAll(a.id, 'ID').replaceAll(shortId(a.id), 'ID')
  const lines = [
    `Severity ${a.severity} · urgency ${a.urgency} · certainty ${a.certainty}`,
    `Headline: ${safe(variant.headline)}`,
  ]
  const paragraphs = variant.description.split('\n').filter((line) => line.trim())
  paragraphs.slice(0, textLines).forEach((line, i) => lines.push(`${i === 0 ? 'Text: ' : '      '}${oneLine(redact(line), textWidth)}`))
  if (paragraphs.length > textLines) lines.push(`      (${paragraphs.length - textLines} more ${paragraphs.length - textLines === 1 ? 'line' : 'lines'}: crier preview shows it whole)`)
  if (a.area) lines.push(`Area: ${safe(a.area.description)}`)
  // Who e-mail and SMS reach is what a targeted draft's officer confirms (preview says the same).
  if (isTargeted(a.area)) lines.push(`Targets: ${areaTargetsText(a.area)}`)
  for (const reach of preview.targeting) lines.push(`Targeted: ${areaReachLine(reach)}`)
  lines.push(a.expiresAt === undefined ? 'Expires: never' : `Expires: ${formatInZone(a.expiresAt, timeZone)} (${formatFromNow(a.expiresAt, now)})`)
  const width = Math.max(...preview.channels.map((c) => `${c.channel} (${c.type})`.length), 0) + 2
  lines.push('Channels:')
  for (const channel of preview.channels) lines.push(`  ${pad(`${channel.channel} (${channel.type})`, width)}${channelLengths(channel.parts)}`)
  if (preview.findings.length === 0) lines.push('Policy: no findings.')
  for (const finding of preview.findings) lines.push(`Policy ${finding.level}: ${safe(withoutId(finding.message))}`)
  const {required} = preview.approvals
  lines.push(required === 0 ? 'Approval: not needed.' : `Approval: ${required} needed before it can be broadcast.`)
  return lines.join('\n')
}
