import type {ContactMatch} from '../../store/subscribers.js'

// One contact belongs to one subscriber in a list: within one import, the line that wrote each
// subscriber is remembered, so that a later row for the same subscriber is rejected naming it.

/**
 * Which line of this file wrote each subscriber, by subscriber id, so that a later row for the
 * same subscriber is rejected instead of silently overwriting it. Ids are INTEGER PRIMARY KEY,
 * so nearly dense: 4 bytes per id (4 MB for a million) where a Map of contacts would take
 * ~100 bytes per row. 0 means "not written by this import".
 */
export class LinesWritten {
  // Ids far beyond any real table (rows inserted with explicit ids) go to a Map rather than
  // growing the array to gigabytes.
  private static readonly denseLimit = 1 << 26
  private lines = new Uint32Array(1024)
  private readonly sparse = new Map<number, number>()

  lineOf(id: number): number {
    if (id >= LinesWritten.denseLimit) return this.sparse.get(id) ?? 0
    return id < this.lines.length ? this.lines[id]! : 0
  }

  record(id: number, line: number): void {
    if (id >= LinesWritten.denseLimit) {
      this.sparse.set(id, line)
      return
    }
    if (id >= this.lines.length) {
      let length = this.lines.length
      while (length <= id) length *= 2
      const grown = new Uint32Array(length)
      grown.set(this.lines)
      this.lines = grown
    }
    this.lines[id] = line
  }
}

/** Why a row is rejected when an earlier line of the file wrote the subscriber its contacts belong to, or undefined. */
export function earlierLineReason(match: ContactMatch, written: LinesWritten): string | undefined {
  const emailLine = match.emailId === undefined ? 0 : written.lineOf(match.emailId)
  const phoneLine = match.phoneId === undefined ? 0 : written.lineOf(match.phoneId)
  if (!emailLine && !phoneLine) return undefined
  const same =
    emailLine && phoneLine
      ? emailLine === phoneLine
        ? `same e-mail and phone as line ${emailLine}`
        : `same e-mail as line ${emailLine} and phone as line ${phoneLine}`
      : emailLine
        ? `same e-mail as line ${emailLine}`
        : `same phone as line ${phoneLine}`
  return `${same} — one contact belongs to one subscriber in a list`
}
