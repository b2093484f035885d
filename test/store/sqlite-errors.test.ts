import {chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it, vi} from 'vitest'
import {RuntimeFailure} from '../../src/core/errors.js'
import {translateSqliteError} from '../../src/store/sqlite-errors.js'

// SQLite's errors as one line a duty officer or a cron mail can act on, not "report it".

const dir = mkdtempSync(join(tmpdir(), 'crier-sqlite-errors-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const sqliteError = (code: string) => Object.assign(new Error('attempt to write a readonly database'), {code})

describe('translateSqliteError', () => {
  it('a read-only database, extended codes included, is a runtime failure saying what to check', () => {
    const mine = join(dir, 'crier.db')
    writeFileSync(mine, '')
    for (const code of ['SQLITE_READONLY', 'SQLITE_READONLY_DIRECTORY', 'SQLITE_CANTOPEN_ISDIR', 'SQLITE_IOERR_WRITE']) {
      const translated = translateSqliteError(sqliteError(code), mine)
      expect(translated).toBeInstanceOf(RuntimeFailure)
      expect((translated as Error).message).toBe(`cannot write ${mine} (${code}) — check that CRIER_HOME is writable`)
    }
  })

  it('names the owner when the database belongs to another user (cron running crier as someone else)', () => {
    const uid = process.getuid!()
    // As root, a file given to nobody; as anyone else, a file root owns.
    let theirs = '/etc/hostname'
    let owner = 0
    if (uid === 0) {
      theirs = join(dir, 'theirs.db')
      writeFileSync(theirs, '')
      chownSync(theirs, 65534, 65534)
      owner = 65534
    }
    expect((translateSqliteError(sqliteError('SQLITE_READONLY_DIRECTORY'), theirs) as Error).message).toBe(
      `cannot write ${theirs} (SQLITE_READONLY_DIRECTORY) — ${theirs} belongs to uid ${owner} and this is uid ${uid}: run crier as that user, or give this one its CRIER_HOME`,
    )
  })

  it("names the file and its mode when it is its owner's but not writable (a chmod), not the folder crier runs in", () => {
    const file = join(dir, 'readonly.db')
    writeFileSync(file, '')
    chmodSync(file, 0o444)
    const uid = process.getuid!() === 0 ? 65534 : process.getuid!()
    if (process.getuid!() === 0) chownSync(file, uid, uid)
    const getuid = vi.spyOn(process, 'getuid').mockReturnValue(uid)
    try {
      expect((translateSqliteError(sqliteError('SQLITE_READONLY'), file) as Error).message).toBe(`cannot write ${file} (SQLITE_READONLY) — ${file} is not writable (mode 0444): chmod u+w ${file}`)
    } finally {
      getuid.mockRestore()
    }
  })

  it('a full disk is a runtime failure saying so, not a bug to report', () => {
    const translated = translateSqliteError(Object.assign(new Error('database or disk is full'), {code: 'SQLITE_FULL'}), '/home/crier/crier.db')
    expect(translated).toBeInstanceOf(RuntimeFailure)
    expect((translated as Error).message).toBe('the disk holding /home/crier/crier.db is full (SQLITE_FULL) — free some space, then run crier again: what was being sent is looked at then, and what is in doubt shown by crier status')
    // The shared-memory file that cannot grow is the same full disk.
    expect((translateSqliteError(Object.assign(new Error('disk I/O error'), {code: 'SQLITE_IOERR_SHMSIZE'}), '/home/crier/crier.db') as Error).message).toMatch(/^the disk holding \/home\/crier\/crier\.db is full \(SQLITE_IOERR_SHMSIZE\)/)
  })

  it('leaves other errors as they are', () => {
    const other = sqliteError('SQLITE_CONSTRAINT_UNIQUE')
    expect(translateSqliteError(other)).toBe(other)
  })
})
