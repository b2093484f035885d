import {randomBytes} from 'node:crypto'

// A file written whole under another name and then renamed into place. Its name cannot be
// guessed and it is opened with 'wx' (O_CREAT | O_EXCL): in a folder others can write to (a
// shared drop folder, /tmp), a symlink or file planted under the name crier would use is refused
// instead of followed — it could point at crier.db, or be readable by its owner.

/** A fresh name beside `file`, for a temporary to open with the 'wx' flag. */
export function temporaryBeside(file: string): string {
  return `${file}.${randomBytes(6).toString('hex')}.partial`
}
