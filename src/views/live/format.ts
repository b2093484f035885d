import type {Severity} from '../../core/announcement.js'

// The live view's words and numbers as plain functions: no Ink, no colour decisions beyond
// naming one, so they are tested without rendering and shared with the plain progress lines.

/**
 * The colour of a severity, always shown next to its word (never colour alone): Extreme red,
 * Severe orange (16-colour terminals show it yellow), Moderate yellow, Minor green.
 */
export function severityColour(severity: Severity): string | undefined {
  switch (severity) {
    case 'Extreme':
      return 'red'
    case 'Severe':
      return '#ff8700'
    case 'Moderate':
      return 'yellow'
    case 'Minor':
      return 'green'
    default:
      return undefined
  }
}

export function severityWord(severity: Severity): string {
  return severity.toUpperCase()
}

/** How many of `width` cells a bar fills for done/total (all when there is nothing to do). */
export function barCells(done: number, total: number, width: number): {filled: number; empty: number} {
  const cells = Math.max(0, Math.floor(width))
  const share = total <= 0 ? 1 : Math.min(1, Math.max(0, done / total))
  // Never full before it is: 999/1000 is one cell short, not rounded up.
  const filled = share >= 1 ? cells : Math.max(0, Math.min(cells - 1, Math.floor(share * cells)))
  return {filled, empty: cells - filled}
}

export function progressBar(done: number, total: number, width: number): string {
  const {filled, empty} = barCells(done, total, width)
  return '█'.repeat(filled) + '░'.repeat(empty)
}

/** Whole percent, floored: 100% only when everything is done. */
export function percent(done: number, total: number): string {
  if (total <= 0) return '100%'
  return `${Math.floor((Math.min(done, total) * 100) / total)}%`
}

/** "0:42", "12:05", "1:02:03". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000))
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = seconds % 60
  const ss = String(s).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** "41/s", "2.5/s", "0.2/s"; "—" when unknown. */
export function formatRate(perSecond: number | undefined): string {
  if (perSecond === undefined || !Number.isFinite(perSecond)) return '—'
  if (perSecond >= 10) return `${Math.round(perSecond).toLocaleString('en-GB')}/s`
  if (perSecond >= 0.1) return `${perSecond.toFixed(1)}/s`
  return perSecond > 0 ? '<0.1/s' : '0/s'
}

/** Time left at the current rate: "ETA 0:09"; "ETA —" while nothing is finishing. */
export function formatEta(pending: number, perSecond: number | undefined): string {
  if (pending === 0) return 'ETA 0:00'
  if (perSecond === undefined || perSecond <= 0) return 'ETA —'
  return `ETA ${formatDuration((pending / perSecond) * 1000)}`
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-GB')
}

/** Cuts plain text (no escapes) to `width` characters, with an ellipsis when cut. */
export function truncate(text: string, width: number): string {
  const chars = Array.from(text)
  if (chars.length <= width) return text
  return width <= 0 ? '' : chars.slice(0, width - 1).join('') + '…'
}

export interface Token {
  text: string
  /** A colour name for Ink, when colour is on and the token deserves one. */
  colour?: string
}

/** Packs tokens, two spaces apart, into lines no wider than `width`; a token wider than a line gets its own. */
export function packTokens(tokens: Token[], width: number): Token[][] {
  const lines: Token[][] = []
  let line: Token[] = []
  let used = 0
  for (const token of tokens) {
    const length = Array.from(token.text).length
    const needed = line.length === 0 ? length : used + 2 + length
    if (line.length > 0 && needed > width) {
      lines.push(line)
      line = []
      used = 0
    }
    used = line.length === 0 ? length : used + 2 + length
    line.push(token)
  }
  if (line.length > 0) lines.push(line)
  return lines
}
