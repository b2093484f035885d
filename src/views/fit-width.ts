import stringWidth from 'string-width'
import {segmenter} from '../core/segmenter.js'

// Plain text fitted to a terminal's width: for what is read over SSH in 80 columns.

// A command to run ("crier status 01M8FDMSP4BH") is copied whole: never broken across lines.
const command = /\bcrier(?: [a-z-]+){1,2} [0-9A-Z]{12}\b/g
const nonBreaking = '\u00a0'

/**
 * `text` in lines of at most `width` columns, each after `indent`, broken between words and
 * not inside a command that fits a line of its own; a word longer than a line is cut, but a
 * link or a path stays whole on its own line, where the terminal wraps it and it can still be
 * copied.
 */
export function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = []
  let line = ''
  const kept = text.replace(command, (found) => (stringWidth(indent + found) <= width ? found.replaceAll(' ', nonBreaking) : found))
  const finish = (last: string) => lines.push(last.includes('/') && !last.includes(' ') ? indent + last : cut(indent + last, width))
  for (const word of kept.split(' ')) {
    const candidate = line ? `${line} ${word}` : word
    if (line && stringWidth(indent + candidate) > width) {
      finish(line)
      line = word
    } else line = candidate
  }
  if (line) finish(line)
  return lines.map((wrapped) => wrapped.replaceAll(nonBreaking, ' '))
}

/** At most `width` terminal columns (CJK and most emoji take two), the last one … when cut. */
export function cut(line: string, width: number): string {
  if (stringWidth(line) <= width) return line
  let kept = ''
  let used = 0
  for (const {segment} of segmenter('grapheme').segment(line)) {
    const columns = stringWidth(segment)
    if (used + columns > Math.max(1, width - 1)) break
    kept += segment
    used += columns
  }
  return kept + '…'
}
