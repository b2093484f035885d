import {hash as digest} from 'node:crypto'
import {redact} from '../config/secrets.js'
import {RuntimeFailure} from '../core/errors.js'
import {oneLine} from '../core/terminal-text.js'
import {migrations} from './migrations.js'
import type {Db} from './open.js'
import {writeTransaction} from './write-lock.js'

// The audit trail: an append-only, hash-chained table of who did what, when, on what. Every
// row carries hash = SHA-256(prev_hash ‖ canonical row), so changing, deleting, reordering or
// cutting off rows breaks the chain where it happened. Events are appended by the store
// functions that make the change, in the same transaction: the change and its event commit
// together or not at all. Details never hold config values; strings are redacted of every
// secret this process has read, as a second line of defence.

/** prev_hash of the first row. */
export const genesisHash = '0'.repeat(64)

const folded = (sql: string) => sql.replace(/\s+/g, ' ').trim()
/**
 * The triggers that keep the trail append-only, as its migration created them (name → SQL,
 * whitespace folded). One dropped or rewritten lets rows go with only the head to forge, so
 * verify checks they are all there, as written.
 */
const guardTriggers = new Map([...migrations.join('\n').matchAll(/CREATE TRIGGER (audit_\w+)[\s\S]*?END;/g)].map(([sql, name]) => [name!, folded(sql.slice(0, -1))]))

export type AuditAction =
  | 'created'
  | 'edited'
  | 'approved'
  | 'approvals-withdrawn'
  | 'rejected'
  | 'state-changed'
  | 'cancelled'
  | 'superseded'
  | 'send-result'
  | 'in-doubt-resolved'
  | 'override'
  | 'reviewed'
  | 'scheduled'
  | 'schedule-ended'
  | 'occurrence-fired'
  | 'occurrence-missed'
  | 'subscribers-imported'
  | 'subscriber-opted-out'
  | 'config-loaded'
  | 'previewed'

/** What a store function records; the actor defaults to the one the store was opened for. */
export interface AuditEventInput {
  action: AuditAction
  /** On what: an announcement id, a list name, a masked contact. */
  subject?: string | null
  details?: Record<string, unknown>
  actor?: string
  at?: number
}

/** One stored row, `details` exactly as stored (JSON text): the hash covers that text. */
export interface AuditEvent {
  seq: number
  at: number
  actor: string
  action: string
  subject: string | null
  details: string
  prevHash: string
  hash: string
}

export interface AuditFilter {
  since?: number
  subject?: string
  /** The newest `limit` events (returned oldest first); all when absent. */
  limit?: number
}

/** Rows verify reads per query. */
export const verifyPageRows = 1000

/** What verify reads of a row: seq, the canonical row (null: build it in JavaScript), hash, prev_hash. */
type CheckedRow = [number, string | null, string, string]

export type AuditVerdict =
  | {ok: true; events: number; headHash: string}
  | {ok: false; events: number; row: number; problem: string}

/**
 * The canonical row the hash covers: the JSON array [seq, at, actor, action, subject] with no
 * whitespace (JSON.stringify in JavaScript; json.dumps(…, ensure_ascii=False,
 * separators=(',', ':')) in Python), a line feed, then `details` exactly as stored. The array
 * never contains a raw line feed, so the split is unambiguous; details is not escaped a second
 * time, which verify would otherwise pay on every row.
 */
export function canonicalRow(seq: number, at: number, actor: string, action: string, subject: string | null, details: string): string {
  return JSON.stringify([seq, at, actor, action, subject]) + '\n' + details
}

/**
 * Text as SQLite will hand it back: a lone UTF-16 surrogate is stored as U+FFFD, so it is hashed
 * as U+FFFD, or the row would not match its own hash when read.
 */
function asStored(text: string): string {
  return /[\uD800-\uDFFF]/.test(text) ? Buffer.from(text, 'utf8').toString('utf8') : text
}

/** SHA-256 over the previous row's hash (64 hex characters) followed by the canonical row, UTF-8; lower-case hex. */
export function chainHash(prevHash: string, canonical: string): string {
  // One-shot crypto.hash: cheaper per row than createHash().update().digest(), which verify
  // runs a million times.
  return digest('sha256', prevHash + canonical, 'hex')
}

/**
 * One line of `crier audit export`: every stored column, `details` as its stored text, so that
 * the chain can be checked elsewhere with canonicalRow and chainHash alone.
 */
export function exportLine(event: AuditEvent): string {
  const {seq, at, actor, action, subject, details, prevHash, hash} = event
  return JSON.stringify({seq, at, actor, action, subject, details, prevHash, hash})
}

/** Runs fn in the caller's transaction, or in its own BEGIN IMMEDIATE: an append reads the head, then writes after it. */
export function atomically<T>(db: Db, fn: () => T): T {
  return db.inTransaction ? fn() : writeTransaction(db, fn)
}

/**
 * Runs fn in the caller's transaction, or in its own only if the database is free this instant;
 * undefined when another crier holds it. For a record a reader leaves in passing (a preview, the
 * config it loaded), which must not keep that reader waiting behind a long write (an import).
 */
function ifFree<T>(db: Db, fn: () => T): T | undefined {
  if (db.inTransaction) return fn()
  const waited = db.pragma('busy_timeout', {simple: true}) as number
  db.pragma('busy_timeout = 0')
  try {
    // Its own BEGIN here, not writeTransaction's, which would wait for the lock after all.
    return db.transaction(fn).immediate()
  } catch (error) {
    if ((error as {code?: string}).code?.startsWith('SQLITE_BUSY')) return undefined
    throw error
  } finally {
    db.pragma(`busy_timeout = ${waited}`)
  }
}

/** JSON.stringify replacer: every string value redacted of known secrets, at any depth. */
function redacted(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? redact(value) : value
}

export type AuditTrail = ReturnType<typeof auditTrail>

export function auditTrail(db: Db, storeActor: string) {
  const defaultActor = asStored(oneLine(storeActor, 200)) || 'unknown'
  const head = db.prepare(`SELECT seq, hash FROM audit_head WHERE id = 1`)
  const insert = db.prepare(`INSERT INTO audit_event (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
  const columns = `seq, at, actor, action, subject, details, prev_hash AS prevHash, hash`
  const newest = db.prepare(`SELECT * FROM (SELECT ${columns} FROM audit_event WHERE at >= @since ORDER BY seq DESC LIMIT @limit) ORDER BY seq`)
  const newestOf = db.prepare(`SELECT * FROM (SELECT ${columns} FROM audit_event WHERE subject = @subject AND at >= @since ORDER BY seq DESC LIMIT @limit) ORDER BY seq`)
  const everyRow = db.prepare(`SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_event ORDER BY seq`).raw(true)
  // Verify reads each row's prev_hash too: its hash chaining from the previous row's hash would
  // pass a prev_hash column changed on its own, which an exported copy then carries and a
  // checker elsewhere (README's) rejects. It reads in pages (one .all() per page costs less
  // than a native iterator step per row); the first page has no lower bound, so a row below
  // seq 1 is seen as before.
  //
  // SQLite writes the canonical row itself: one string per row reaches JavaScript instead of
  // four, and no JSON.stringify. json_array() escapes text exactly as JSON.stringify does (" and
  // \ with a backslash; \b \t \n \f \r; other characters below U+0020 as lower-case \u00xx;
  // everything else as it is — the lone surrogates JSON.stringify would also escape never come
  // out of SQLite) and prints an integer as its digits. That holds for those types only, and
  // JavaScript reads an integer exactly only within ±2^53, so any other row (a rebuilt table, a
  // time past 2^53) gets a null canonical and is built by canonicalRow from its fields as
  // before. The store tests hash every ASCII character both ways, should SQLite ever change.
  const checkColumns = `SELECT seq, CASE WHEN typeof(at) = 'integer' AND at BETWEEN ${-Number.MAX_SAFE_INTEGER} AND ${Number.MAX_SAFE_INTEGER}
      AND typeof(actor) = 'text' AND typeof(action) = 'text' AND typeof(subject) IN ('text', 'null') AND typeof(details) = 'text'
    THEN json_array(seq, at, actor, action, subject) || char(10) || details END, hash, prev_hash FROM audit_event`
  const fieldsOf = db.prepare(`SELECT seq, at, actor, action, subject, details FROM audit_event WHERE seq = ?`).raw(true)
  const firstPage = db.prepare(`${checkColumns} ORDER BY seq LIMIT ${verifyPageRows}`).raw(true)
  const nextPage = db.prepare(`${checkColumns} WHERE seq > ? ORDER BY seq LIMIT ${verifyPageRows}`).raw(true)
  const prevHashOf = db.prepare(`SELECT prev_hash FROM audit_event WHERE seq = ?`).pluck()
  const triggers = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger'`)
  const byHash = db.prepare(`SELECT seq FROM audit_event WHERE hash = ?`).pluck()
  // Cancelled after it went out, and no Cancel drafted: nothing of it was in force (it had expired).
  // CROSS JOIN keeps the (few) cancel events the outer loop: left to itself, the planner reads
  // every sent announcement to look for their cancels — 35 ms for `list` over 10,000 of them.
  const quietCancels = db
    .prepare(
      `SELECT e.subject, e.actor, e.at, a.expires_at <= e.at AS expired FROM audit_event e CROSS JOIN announcement a ON a.id = e.subject
       WHERE e.action = 'cancelled' AND a.state IN ('sent', 'sent_with_failures')
         AND json_extract(e.details, '$.followUp') IS NULL AND json_extract(e.details, '$.cancelNotDrafted') IS NULL`,
    )
    .raw(true)
  const actorsOf = db.prepare(`SELECT DISTINCT actor FROM audit_event WHERE subject = @subject AND action = @action`).pluck()
  const eventsOf = db.prepare(`SELECT actor, at, details FROM audit_event WHERE subject = @subject AND action = @action ORDER BY seq DESC LIMIT @limit`)
  const lastConfigLoad = db.prepare(`SELECT details FROM audit_event WHERE action = 'config-loaded' ORDER BY seq DESC LIMIT 1`).pluck()

  function readHead(): {seq: number; hash: string} {
    const row = head.get() as {seq: number; hash: string} | undefined
    if (!row) throw new RuntimeFailure('the audit trail has lost its head record (audit_head) — the database was changed outside crier; keep a copy and run crier audit verify')
    return row
  }

  function append(event: AuditEventInput): AuditEvent {
    return atomically(db, () => {
      const last = readHead()
      const row = {
        seq: last.seq + 1,
        at: event.at ?? Date.now(),
        actor: event.actor === undefined ? defaultActor : asStored(oneLine(event.actor, 200)) || defaultActor,
        action: event.action,
        subject: event.subject == null ? null : asStored(event.subject),
        details: JSON.stringify(event.details ?? {}, redacted),
        prevHash: last.hash,
        hash: '',
      }
      row.hash = chainHash(last.hash, canonicalRow(row.seq, row.at, row.actor, row.action, row.subject, row.details))
      insert.run(row.seq, row.at, row.actor, row.action, row.subject, row.details, row.prevHash, row.hash)
      return row
    })
  }

  /** Walks the chain from the first row and names the first one that is out of place. */
  function verify(): AuditVerdict {
    return db.transaction((): AuditVerdict => {
      // One read snapshot: the head and the rows are seen as of the same moment.
      const recorded = head.get() as {seq: number; hash: string} | undefined
      let expected = 1
      let prevHash = genesisHash
      let broken: {row: number; problem?: string} | undefined
      let rows = firstPage.all() as CheckedRow[]
      while (rows.length > 0) {
        for (const [seq, canonical, hash, storedPrevHash] of rows) {
          if (seq !== expected) {
            const missing = seq === expected + 1 ? `row ${expected} is missing (deleted)` : `rows ${expected}–${seq - 1} are missing (deleted)`
            const follows = `${expected === 1 ? 'the chain starts at' : `row ${expected - 1} is followed by`} row ${seq}`
            broken = {row: expected, problem: seq < expected ? `row ${seq} is out of place: ${follows}` : `${missing}: ${follows}`}
            break
          }
          if (chainHash(prevHash, canonical ?? canonicalOf(seq)) !== hash) {
            broken = {row: seq}
            break
          }
          if (storedPrevHash !== prevHash) {
            broken = {row: seq, problem: `row ${seq}'s prev_hash is not row ${seq - 1}'s hash (changed after it was written)`}
            break
          }
          prevHash = hash
          expected++
        }
        if (broken || rows.length < verifyPageRows) break
        // Every row of the page checked out, so the last one was row expected − 1.
        rows = nextPage.all(expected - 1) as CheckedRow[]
      }
      const events = expected - 1
      const unguarded = unguardedProblem()
      if (broken) {
        // The iteration has ended: now the row's own prev_hash can say which kind of break it is.
        const prev = prevHashOf.get(broken.row) as string | undefined
        const problem = broken.problem ?? (prev === prevHash ? `row ${broken.row} does not match its hash (changed after it was written)` : outOfPlace(broken.row, prev ?? ''))
        return {ok: false, events, row: broken.row, problem: unguarded ? `${problem}; and ${unguarded}` : problem}
      }
      if (!recorded) return {ok: false, events, row: events, problem: `the record of the chain's last row (audit_head) was deleted; the ${events} rows present chain correctly`}
      if (recorded.seq > events) {
        return {ok: false, events, row: events + 1, problem: `the chain ends at row ${events} but ${recorded.seq} events were written: ${recorded.seq - events === 1 ? `row ${recorded.seq} is` : `rows ${events + 1}–${recorded.seq} are`} missing (truncated)`}
      }
      // With the guards gone, crier's own rows no longer move the head: the guards are the news.
      if (recorded.seq < events) return {ok: false, events, row: recorded.seq + 1, problem: unguarded ? `${unguarded}; ${events - recorded.seq === 1 ? `row ${events} was` : `rows ${recorded.seq + 1}–${events} were`} written since without moving the head` : `rows ${recorded.seq + 1}–${events} were added outside crier (the head records ${recorded.seq} events)`}
      if (recorded.hash !== prevHash) return {ok: false, events, row: events, problem: `row ${events} is not the row written last (its hash differs from the head's: the tail was replaced)`}
      // Whole as far as the chain and its head show: unless what guards it was taken away.
      if (unguarded) return {ok: false, events, row: events, problem: `${unguarded}, so rows after the last one anyone exported may have been removed with the head rewritten`}
      return {ok: true, events, headHash: prevHash}
    })()
  }

  /** Which of the trail's guard triggers are missing or changed, as a phrase; undefined when all stand as written. */
  function unguardedProblem(): string | undefined {
    const present = new Map((triggers.all() as Array<{name: string; sql: string}>).map((row) => [row.name, folded(row.sql)]))
    const missing = [...guardTriggers.keys()].filter((name) => !present.has(name))
    const changed = [...guardTriggers].filter(([name, sql]) => present.has(name) && present.get(name) !== sql).map(([name]) => name)
    const parts = [missing.length > 0 && `${missing.join(', ')} ${missing.length === 1 ? 'was' : 'were'} dropped`, changed.length > 0 && `${changed.join(', ')} ${changed.length === 1 ? 'was' : 'were'} rewritten`].filter(Boolean)
    return parts.length > 0 ? `the triggers that keep it append-only were tampered with outside crier (${parts.join('; ')})` : undefined
  }

  /** The canonical row built from the row's fields as JavaScript reads them. */
  function canonicalOf(seq: number): string {
    const [, at, actor, action, subject, details] = fieldsOf.get(seq) as [number, number, string, string, string | null, string]
    return canonicalRow(seq, at, actor, action, subject, details)
  }

  /** Why row `seq` does not follow its predecessor: which row its prev_hash belongs to, if any. */
  function outOfPlace(seq: number, prev: string): string {
    const owner = byHash.get(prev) as number | undefined
    if (owner === seq + 1) return `rows ${seq} and ${seq + 1} are swapped: row ${seq} carries the link of the row after row ${seq + 1}`
    if (owner !== undefined) return `row ${seq} is out of place: it was written after row ${owner}, not after row ${seq - 1} (rows reordered)`
    return `row ${seq} does not follow row ${seq - 1}: its prev_hash matches no row (row ${seq - 1} was rewritten with a new hash, or rows were inserted)`
  }

  return {
    append,
    verify,
    head: readHead,
    list(filter: AuditFilter = {}): AuditEvent[] {
      const params = {since: filter.since ?? Number.MIN_SAFE_INTEGER, limit: filter.limit ?? -1, subject: filter.subject}
      return (filter.subject === undefined ? newest.all(params) : newestOf.all(params)) as AuditEvent[]
    },
    /** Who did `action` to `subject`, ever (e.g. everyone who edited an announcement). */
    actorsOf(subject: string, action: AuditAction): string[] {
      return actorsOf.all({subject, action}) as string[]
    },
    /** Appends only if the database is free this instant (see ifFree). Returns whether it was written. */
    appendIfFree(event: AuditEventInput): boolean {
      return ifFree(db, () => append(event)) !== undefined
    },
    /** Announcements that went out and were cancelled since with no Cancel message, as none was needed (they had expired). */
    cancelledWithoutMessage(): Array<{id: string; by: string; at: number; expired: boolean}> {
      return (quietCancels.all() as Array<[string, string, number, number | null]>).map(([id, by, at, expired]) => ({id, by, at, expired: expired === 1}))
    },
    /** The latest `action` events on `subject`, newest first, details parsed. */
    latestOf(subject: string, action: AuditAction, limit = 50): Array<{actor: string; at: number; details: Record<string, unknown>}> {
      return (eventsOf.all({subject, action, limit}) as Array<{actor: string; at: number; details: string}>).map((row) => ({...row, details: JSON.parse(row.details) as Record<string, unknown>}))
    },
    /** Every row in chain order, read lazily (a million rows never sit in memory). */
    *rows(): Generator<AuditEvent> {
      for (const [seq, at, actor, action, subject, details, prevHash, hash] of everyRow.iterate() as IterableIterator<[number, number, string, string, string | null, string, string, string]>) {
        yield {seq, at, actor, action, subject, details, prevHash, hash}
      }
    },
    /**
     * Appends `config-loaded` when the config's fingerprint differs from the last one recorded.
     * The first look is a plain read, so an unchanged config costs no write lock. `ifFree`: only
     * if the database is free this instant (a command that only reads; the next command records it).
     */
    recordConfigLoad(fingerprint: {source: string; sha256: string; timeZone?: string}, at = Date.now(), options: {ifFree?: boolean} = {}): boolean {
      // A zone the last record lacks is recorded too: one written before records carried it.
      const isRecorded = () => {
        const text = lastConfigLoad.get() as string | undefined
        const last = text ? (JSON.parse(text) as {sha256?: string; timeZone?: string}) : undefined
        return last?.sha256 === fingerprint.sha256 && last.timeZone === fingerprint.timeZone
      }
      if (isRecorded()) return false
      const record = () => {
        if (isRecorded()) return false
        append({action: 'config-loaded', details: fingerprint, at})
        return true
      }
      return options.ifFree ? (ifFree(db, record) ?? false) : atomically(db, record)
    },
    /** The zone the config last loaded names, if it names one: where a command that reads no config shows times. */
    lastConfigTimeZone(): string | undefined {
      const text = lastConfigLoad.get() as string | undefined
      return text ? (JSON.parse(text) as {timeZone?: string}).timeZone : undefined
    },
  }
}
