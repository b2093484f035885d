import {closeSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {bootOfOwner} from './lease-owner.js'

// Which sends actually started, per dispatcher: a line "<delivery id> <attempt>" appended to a
// file of its own just before the requests go. A dispatcher holds more claimed than it has in
// flight; when it dies, a delivery of a channel without idempotency that it never started is
// not in doubt, and can be sent after all instead of ending `unknown` for a person to chase.
//
// The file is trusted only where it cannot have lost a line: written by a process of this host
// and this boot (a crash leaves the page cache whole; a power cut may not, and after one every
// such delivery stays in doubt). No file at all — a crier from before these records, or one on
// another machine — proves nothing either.

/** The directory beside the database (as SQLite's -wal and -shm are); undefined for a database in memory. */
export function startedSendsDir(databasePath: string | undefined): string | undefined {
  if (!databasePath || databasePath === ':memory:' || databasePath.startsWith('file:')) return undefined
  return `${databasePath}-sending`
}

function fileFor(dir: string, owner: string): string {
  return join(dir, encodeURIComponent(owner))
}

/** Send starts of one dispatcher (its lease owner), recorded before each request. */
export class StartedSends {
  private fd: number | undefined
  private written = false

  constructor(
    private readonly dir: string | undefined,
    private readonly owner: string,
  ) {}

  /**
   * Before claiming for a channel without idempotency: the file exists, empty, so that from
   * the claim on its lack of a line means "not started".
   */
  open(): void {
    if (this.fd !== undefined || !this.dir) return
    mkdirSync(this.dir, {recursive: true, mode: 0o700})
    this.fd = openSync(fileFor(this.dir, this.owner), 'a', 0o600)
  }

  /** Just before these sends start: one write for them all. Throws where it cannot record (disk full): they must not start. */
  record(sends: ReadonlyArray<{id: string; attempts: number}>): void {
    if (this.fd === undefined) return
    let lines = ''
    for (const send of sends) lines += startKey(send.id, send.attempts) + '\n'
    writeSync(this.fd, lines)
    this.written = true
  }

  /** Nothing in flight and every result committed: what was recorded is settled, and can go. */
  settled(): void {
    if (this.fd === undefined || !this.written) return
    ftruncateSync(this.fd, 0)
    this.written = false
  }

  /** The dispatcher stops. `settled`: it holds no lease any more, so its record is of no use to anyone. */
  close(settled: boolean): void {
    if (this.fd === undefined) return
    closeSync(this.fd)
    this.fd = undefined
    if (settled && this.dir) removeQuietly(fileFor(this.dir, this.owner))
  }
}

/**
 * The starts `owner` recorded ("<id> <attempt>"), or undefined where its record cannot be
 * trusted to be complete (another boot or host, no record at all).
 */
export function readStartedSends(dir: string | undefined, owner: string | null): Set<string> | undefined {
  if (!dir || !owner || bootOfOwner(owner) !== 'this') return undefined
  let text: string
  try {
    text = readFileSync(fileFor(dir, owner), 'utf8')
  } catch {
    return undefined
  }
  return new Set(text.split('\n').filter(Boolean))
}

export function startKey(id: string, attempts: number): string {
  return `${id} ${attempts}`
}

/** The record of a dispatcher that is gone and holds nothing any more. */
export function forgetStartedSends(dir: string | undefined, owner: string): void {
  if (dir) removeQuietly(fileFor(dir, owner))
}

/** The owners with a record in `dir`. */
export function ownersWithStartedSends(dir: string | undefined): string[] {
  if (!dir) return []
  try {
    return readdirSync(dir).map((name) => decodeURIComponent(name))
  } catch {
    return []
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file)
  } catch {
    // Already gone.
  }
}
