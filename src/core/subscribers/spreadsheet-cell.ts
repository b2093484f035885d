import {stripTerminalControls} from '../terminal-text.js'

// The rejected rows' file is made to be opened in a spreadsheet, fixed and imported again. A
// cell that starts with = + - @ (or a tab) is a formula there — a subscriber's name from a
// sign-up form could run a command or leak the sheet (OWASP: CSV injection). Such a cell is
// written after an apostrophe, which a spreadsheet shows as text and the import takes off
// again, so a fixed file goes back in as it was. Numbers and phone numbers (+44 7700 900123)
// are not formulas and stay as they are; escape sequences go, so `cat` shows the file safely.

const formulaStart = /^[=+\-@\t]/
const plainNumber = /^[+-]?[\d\s().-]+$/

/** A cell as the rejected file writes it. */
export function spreadsheetSafe(value: string): string {
  const text = stripTerminalControls(value)
  return formulaStart.test(text) && !plainNumber.test(text) ? `'${text}` : text
}

/** A cell as the import reads it: the apostrophe spreadsheetSafe put before a formula's first character taken off. */
export function fromSpreadsheetSafe(value: string): string {
  return /^'[=+\-@\t]/.test(value) ? value.slice(1) : value
}
