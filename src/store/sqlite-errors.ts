import {RuntimeFailure} from '../core/errors.js'

/** Another connection held the database past the busy timeout. */
export function isBusy(error: unknown): boolean {
  const code = (error as {code?: string} | undefined)?.code
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_LOCKED'
}

/** Turns SQLite's busy and not-a-database errors into one clear line. */
export function translateSqliteError(error: unknown, path = 'crier.db'): unknown {
  const code = (error as {code?: string}).code
  if (isBusy(error)) {
    return new RuntimeFailure(`the database is locked: another crier process holds ${path} — wait for it to finish, then try again`)
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new RuntimeFailure(`${path} is not a readable crier database — restore it from a backup or point CRIER_HOME elsewhere`)
  }
  if (code === 'SQLITE_READONLY' || code === 'SQLITE_CANTOPEN' || code === 'SQLITE_IOERR') {
    return new RuntimeFailure(`cannot write ${path} (${code}) — check that CRIER_HOME is writable`)
  }
  return error
}
