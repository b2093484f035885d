import {statSync} from 'node:fs'
import {dirname} from 'node:path'
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
    return new RuntimeFailure(`the database is locked: another crier process holds ${path} — wait for it to finish, then try again (CRIER_BUSY_TIMEOUT_MS=120000 waits two minutes)`)
  }
  // The shared-memory file that cannot grow is a full disk too (a tmpfs, a small volume).
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_SHMSIZE') {
    return new RuntimeFailure(`the disk holding ${path} is full (${code}) — free some space, then run crier again: what was being sent is looked at then, and what is in doubt shown by crier status`)
  }
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new RuntimeFailure(`${path} is not a readable crier database — restore it from a backup or point CRIER_HOME elsewhere`)
  }
  // Extended codes too: SQLITE_READONLY_DIRECTORY is a database whose directory is not ours.
  if (code && /^SQLITE_(READONLY|CANTOPEN|IOERR)/.test(code)) {
    return new RuntimeFailure(`cannot write ${path} (${code}) — ${ownerHint(path) ?? 'check that CRIER_HOME is writable'}`)
  }
  return error
}

/**
 * When the database or its directory belongs to another user (crier run by cron as someone
 * else, or once under sudo), or is not writable by its owner (a chmod): say which and why.
 */
function ownerHint(path: string): string | undefined {
  const uid = process.getuid?.()
  if (uid === undefined) return undefined
  for (const file of [path, dirname(path)]) {
    try {
      const {uid: owner, mode} = statSync(file)
      if (owner !== uid) return `${file} belongs to uid ${owner} and this is uid ${uid}: run crier as that user, or give this one its CRIER_HOME`
      if (uid !== 0 && (mode & 0o200) === 0) return `${file} is not writable (mode ${(mode & 0o777).toString(8).padStart(4, '0')}): chmod u+w ${file}`
    } catch {
      // not there (yet): nothing to say about its owner
    }
  }
  return undefined
}
