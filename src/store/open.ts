import {existsSync} from 'node:fs'
import Database from 'better-sqlite3'
import {RuntimeFailure} from '../core/errors.js'
import {translateSqliteError} from './sqlite-errors.js'
import {makePrivate} from '../config/paths.js'
import {latestVersion, migrations} from './migrations.js'
import {placeInArea} from '../core/area-targeting.js'
import type {Area} from '../core/announcement.js'

export type Db = Database.Database

export interface OpenOptions {
  /** How long to wait for another process's write lock before giving up. */
  busyTimeoutMs?: number
  /** Stop at this schema version (tests of upgrades from earlier versions). */
  targetVersion?: number
}

/**
 * Opens (creating if needed) a crier database: WAL so readers never block the sender,
 * busy_timeout so overlapping cron runs wait for each other instead of failing, foreign keys on,
 * and migrations applied. A database from a newer crier is refused before anything is written.
 */
export function openDatabase(path: string, options: OpenOptions = {}): Db {
  const isNew = !existsSync(path)
  let db: Db
  try {
    db = new Database(path, {timeout: options.busyTimeoutMs ?? 5000})
  } catch (error) {
    throw new RuntimeFailure(`cannot open ${path} (${(error as Error).message}) — check that CRIER_HOME is writable`)
  }
  try {
    const version = db.pragma('user_version', {simple: true}) as number
    // Neither is this crier's to change: a runtime condition (exit 1), and the file stays as it is.
    if (version > latestVersion) {
      throw new RuntimeFailure(`${path} was written by a newer crier (schema ${version}, this one knows ${latestVersion}) — upgrade crier; the database was not touched`)
    }
    if (version === 0) {
      const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name LIMIT 4`).pluck().all() as string[]
      if (tables.length > 0) {
        throw new RuntimeFailure(`${path} is a SQLite database, but not crier's (tables ${tables.slice(0, 3).join(', ')}${tables.length > 3 ? ', …' : ''}) — move it aside, or set CRIER_HOME to crier's own folder; it was not touched`)
      }
    }
    db.pragma('journal_mode = WAL')
    // FULL: a committed delivery result survives power loss, not only a crash. Group commits
    // keep the fsync count low (see bench).
    db.pragma('synchronous = FULL')
    db.pragma('foreign_keys = ON')
    migrate(db, options.targetVersion ?? latestVersion)
    defineFunctions(db)
  } catch (error) {
    db.close()
    throw translateSqliteError(error, path)
  }
  if (isNew) for (const suffix of ['', '-wal', '-shm']) makePrivate(path + suffix)
  return db
}

function migrate(db: Db, target: number): void {
  const current = db.pragma('user_version', {simple: true}) as number
  for (let version = current + 1; version <= target; version++) {
    // IMMEDIATE: two processes opening a fresh database must not both migrate it.
    db.transaction(() => {
      const now = db.pragma('user_version', {simple: true}) as number
      if (now >= version) return
      db.exec(migrations[version - 1]!)
      db.pragma(`user_version = ${version}`)
    }).immediate()
  }
}

/**
 * SQL functions crier's queries call. crier_area_match(area JSON, lat, lon, zone): 1 when the
 * subscriber is inside the announcement's area, 0 outside, NULL when the area cannot place
 * them — so a targeted fan-out stays one INSERT … SELECT, however large the list.
 */
function defineFunctions(db: Db): void {
  let lastJson: string | undefined
  let lastArea: Area | undefined
  db.function('crier_area_match', {deterministic: true}, (json, lat, lon, zone) => {
    if (json !== lastJson) {
      lastArea = JSON.parse(String(json)) as Area
      lastJson = String(json)
    }
    const inside = placeInArea(lastArea!, {lat: typeof lat === 'number' ? lat : null, lon: typeof lon === 'number' ? lon : null, zone: typeof zone === 'string' ? zone : null})
    return inside === undefined ? null : inside ? 1 : 0
  })
}
