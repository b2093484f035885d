import type {Config} from '../config/load.js'
import {shortId} from '../core/ids.js'
import {oneLine} from '../core/terminal-text.js'
import type {AnnouncementStatus} from '../engine/status.js'
import {channelCountsLine} from './status-lines.js'
import {counted} from '../core/counted.js'

/** After a broadcast: one line per channel, where a broadcast channel published, and what is left. */
export function broadcastSummaryLines(status: AnnouncementStatus, config: Config): string[] {
  const width = Math.max(10, ...status.channels.map((c) => c.channel.length + 2))
  const lines = status.channels.map((c) => channelCountsLine(c, width))
  for (const receipt of status.receipts) {
    if (receipt.state !== 'sent') continue
    const channel = config.channels[receipt.channel]
    const where = receipt.receiptUrl ?? (channel?.type === 'feed' && typeof channel.dir === 'string' ? `${channel.dir}/${receipt.receiptId}` : receipt.receiptId)
    if (where) lines.push(`  ${receipt.channel} → ${oneLine(where, 200)}`)
  }
  const waiting = status.pending - status.abandoned
  if (waiting > 0) lines.push(`${counted(waiting, 'delivery', 'deliveries')} still pending: crier run or a worker will send ${waiting === 1 ? 'it' : 'them'} (crier status ${shortId(status.announcement.id)}).`)
  if (status.abandoned > 0) {
    lines.push(`${counted(status.abandoned, 'delivery', 'deliveries')} in doubt: a crier stopped while sending them. The next crier run settles them — sent again where the channel drops duplicates, otherwise marked unknown, to be checked before anyone sends again.`)
  }
  if (status.trouble > 0) lines.push(`${counted(status.trouble, 'delivery', 'deliveries')} need${status.trouble === 1 ? 's' : ''} attention (dead, unknown or expired): crier status ${shortId(status.announcement.id)}.`)
  return lines
}
