import type {ChannelCounts} from '../store/deliveries.js'
import {oneLine} from '../core/terminal-text.js'
import {pad} from './format.js'
import {formatCount} from './live/format.js'

/** A state as the line counts it. */
const stateWord: Partial<Record<string, string>> = {failed: 'retrying', queued: 'pending', sending: 'pending'}

/** "partners  sent 3/3   (1 retry: 503)" — one channel's delivery state as one plain line. */
export function channelCountsLine(c: ChannelCounts, width = 12): string {
  const pending = c.queued + c.sending + c.failed
  const parts = [`sent ${formatCount(c.sent)}/${formatCount(c.total)}`]
  if (pending) parts.push(`pending ${formatCount(pending)}`)
  if (c.failed) parts.push(`retrying ${formatCount(c.failed)}`)
  if (c.dead) parts.push(`dead ${formatCount(c.dead)}`)
  if (c.unknown) parts.push(`unknown ${formatCount(c.unknown)}`)
  if (c.expired) parts.push(`expired ${formatCount(c.expired)}`)
  if (c.skipped) parts.push(`skipped ${formatCount(c.skipped)}`)
  if (c.cancelled) parts.push(`cancelled ${formatCount(c.cancelled)}`)
  let line = `${pad(c.channel, width)}${parts.join('  ')}`
  if (c.retries) line += `   (${formatCount(c.retries)} ${c.retries === 1 ? 'retry' : 'retries'}${c.lastError ? ': ' + oneLine(c.lastError, 120) : ''})`
  // Which of the counts it explains, where several could: "skipped 224  cancelled 1,200   (cancelled: superseded by …)".
  else if (c.lastError) line += `   (${c.lastErrorState && parts.length > 2 ? `${stateWord[c.lastErrorState] ?? c.lastErrorState}: ` : ''}${oneLine(c.lastError, 120)})`
  return line
}
