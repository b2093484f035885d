import type {ChannelProgress} from '../../engine/live-snapshot.js'
import {formatCount, formatEta, formatRate, packTokens, type Token} from './format.js'
import {oneLine} from '../../core/terminal-text.js'

// How the channels fit the terminal. The live region must stay shorter than the screen: once
// Ink's output reaches the bottom row it clears and redraws the whole screen on every frame.
// Detailed rows (bar, counts, last error) when they fit; one line per channel when they do not;
// and when even that does not fit, as many as fit and a line saying how many more.

export interface ChannelLayout {
  mode: 'detailed' | 'compact'
  shown: ChannelProgress[]
  hidden: number
  nameWidth: number
}

/** Lines around the channels: two of header, one of keys, one for Ink's last newline, one spare. */
export const chromeLines = 5

/** Lines a wrapped notice takes (words wrap, so allow one more than the characters need). */
export function noticeLines(notice: string | undefined, columns: number): number {
  if (!notice) return 0
  const length = Array.from(notice).length
  return length <= columns ? 1 : Math.ceil(length / Math.max(1, columns)) + 1
}

/**
 * The notice cut to what `room` lines hold, its end marked: a frame taller than the terminal has
 * Ink clear the screen, and the officer's scrollback with it, at every frame.
 */
export function fitNotice(notice: string | undefined, columns: number, room: number): string | undefined {
  if (!notice || noticeLines(notice, columns) <= room) return notice
  return oneLine(notice, room === 1 ? columns : (room - 1) * columns)
}

export function pendingOf(progress: ChannelProgress): number {
  return progress.queued + progress.sending + progress.failed
}

/** The counts of one channel, as words with numbers; the five the officer reads always, the rest when not zero. */
export function countTokens(progress: ChannelProgress, rate: number | undefined, colour: boolean): Token[] {
  const paint = (name: string | undefined) => (colour ? name : undefined)
  const pending = pendingOf(progress)
  const tokens: Token[] = [
    {text: `sent ${formatCount(progress.sent)}/${formatCount(progress.total)}`, colour: paint(progress.sent > 0 ? 'green' : undefined)},
    // failed (waiting to be tried again) and pending (queued or being sent) part the unfinished
    // between them: the counts add up to the total.
    {text: `failed ${formatCount(progress.failed)}`, colour: paint(progress.failed > 0 ? 'yellow' : undefined)},
    {text: `pending ${formatCount(progress.queued + progress.sending)}`},
    {text: `dead ${formatCount(progress.dead)}`, colour: paint(progress.dead > 0 ? 'red' : undefined)},
    {text: `unknown ${formatCount(progress.unknown)}`, colour: paint(progress.unknown > 0 ? 'magenta' : undefined)},
  ]
  if (progress.expired) tokens.push({text: `expired ${formatCount(progress.expired)}`, colour: paint('red')})
  if (progress.skipped) tokens.push({text: `skipped ${formatCount(progress.skipped)}`})
  if (progress.cancelled) tokens.push({text: `cancelled ${formatCount(progress.cancelled)}`})
  if (pending > 0) tokens.push({text: formatRate(rate)}, {text: formatEta(pending, rate)})
  return tokens
}

/** Width of the channel-name column: the longest name, within a third of the screen. */
export function nameWidthFor(names: string[], columns: number): number {
  const longest = Math.max(4, ...names.map((name) => Array.from(name).length))
  return Math.max(4, Math.min(longest, Math.floor(columns / 3)))
}

export function detailedLines(progress: ChannelProgress, rate: number | undefined, columns: number): number {
  return 1 + packTokens(countTokens(progress, rate, false), Math.max(10, columns - 2)).length + (progress.lastError ? 1 : 0)
}

export function layoutChannels(active: ChannelProgress[], rates: Record<string, number | undefined>, view: {columns: number; rows: number; noticeLines: number}): ChannelLayout {
  const nameWidth = nameWidthFor(active.map((c) => c.channel), view.columns)
  const room = view.rows - chromeLines - view.noticeLines
  // A notice that takes the room left: it is read first, the channels are in the header's counts.
  if (room < 1 && view.noticeLines > 0) return {mode: 'compact', shown: [], hidden: 0, nameWidth}
  const budget = Math.max(1, room)
  const detailed = active.reduce((n, progress) => n + detailedLines(progress, rates[progress.channel], view.columns), 0)
  if (detailed <= budget) return {mode: 'detailed', shown: active, hidden: 0, nameWidth}
  if (active.length <= budget) return {mode: 'compact', shown: active, hidden: 0, nameWidth}
  // Those with trouble first: a dead or unknown delivery must not be the one scrolled away.
  const ordered = [...active].sort((a, b) => b.dead + b.unknown + b.expired - (a.dead + a.unknown + a.expired))
  const rows = Math.max(0, budget - 1)
  return {mode: 'compact', shown: ordered.slice(0, rows), hidden: active.length - rows, nameWidth}
}
