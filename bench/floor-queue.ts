import {join} from 'node:path'
import type Database from 'better-sqlite3'
import {monotonicFactory} from 'ulid'
import {openDatabase} from '../src/store/open.js'
import {valuesStatement} from '../src/store/values-statement.js'
import {benchAnnouncement, tempDir} from './fixtures.js'

// crier's queue SQL with no crier code around it, on a bare better-sqlite3 connection with
// crier's schema and pragmas (openDatabase): the no-op queue's floor, and what the durable
// blasters (webhook, SMS) take their deliveries from. It is what any sender must pay that keeps
// crier's promise — each delivery claimed under a lease and committed before it is sent, each
// attempt and result committed after — and nothing more.

// Copied verbatim from src/store/deliveries.ts (keep in step).
const insertSql = `INSERT INTO delivery (id, announcement_id, channel, recipient, state, priority, due_at,
      expires_at, max_attempts, created_at, updated_at)
    VALUES (@id, @announcementId, @channel, @recipient, 'queued', @priority, @dueAt, @expiresAt, @maxAttempts, @now, @now)`
const claimSql = `UPDATE delivery SET state = 'sending', lease_owner = @owner, lease_until = @leaseUntil,
      attempts = attempts + 1, updated_at = @now
    WHERE id IN (SELECT id FROM delivery WHERE channel = @channel AND state IN ('queued', 'failed') AND due_at <= @now
                 ORDER BY priority, due_at LIMIT @limit)
    RETURNING id, announcement_id, channel, recipient, attempts, max_attempts, expires_at, priority, due_at`
// Bound as VALUES lists in chunks (values-statement.ts: SQL text and binding, nothing more).
const recordAttemptsSql = (values: string) => `INSERT INTO attempt (delivery_id, started_at, duration_ms, outcome, receipt_id, error) ${values}`
const recordSentSql = (values: string) => `UPDATE delivery SET state = 'sent', last_error = NULL,
      receipt_id = COALESCE(r.column3, receipt_id), receipt_url = COALESCE(r.column4, receipt_url),
      lease_owner = NULL, lease_until = NULL, updated_at = ?, finished_at = ?
    FROM (${values}) AS r
    WHERE delivery.id = r.column1 AND delivery.state = 'sending' AND delivery.lease_owner = r.column2
    RETURNING delivery.id`

/** deliveryPriority() of the bench announcement (Moderate, Expected), written out: the floor runs no crier code. */
const moderateExpected = 21
export const groupCommitSize = 128

type Claimed = {id: string}
/** A sent delivery's attempt: id, when it started, how long it took, what the provider called it. */
type Sent = {id: string; startedAt: number; durationMs: number; receipt: string}

export class FloorQueue {
  readonly fanOutMs: number
  private readonly db: Database.Database
  private readonly owner = `bench-floor:${process.pid}`
  private readonly claimAll: (now: number, limit: number) => Claimed[]
  private readonly record: (rows: Sent[], now: number) => void
  private readonly claimAndRecord: (rows: Sent[], now: number, limit: number) => Claimed[]
  private waiting: Claimed[] = []
  private sent: Sent[] = []
  private inFlight = 0

  /** A fresh database holding `count` queued deliveries of one announcement over `channels`. */
  constructor(
    label: string,
    private readonly channels: string[],
    private readonly count: number,
    maxAttempts: number,
  ) {
    const db = openDatabase(join(tempDir(label), 'crier.db'))
    this.db = db
    const now0 = Date.now()
    const announcement = benchAnnouncement({now: now0, channels, state: 'sending'})
    db.prepare(`INSERT INTO announcement (id, identifier, sender, cap_status, msg_type, scope, category, event, urgency, severity,
        certainty, variants_json, channels_json, expires_at, state, author, created_at, updated_at)
      VALUES (?, ?, ?, 'Actual', 'Alert', 'Public', 'Transport', 'Road closure', 'Expected', 'Moderate', 'Observed', ?, ?, ?, 'sending', 'bench', ?, ?)`).run(
      announcement.id, announcement.identifier, announcement.sender, JSON.stringify(announcement.variants), JSON.stringify(channels), announcement.expiresAt, now0, now0,
    )
    const insert = db.prepare(insertSql)
    const nextId = monotonicFactory()
    const fanOutStarted = performance.now()
    db.transaction(() => {
      for (let i = 0; i < count; i++) {
        insert.run({id: nextId(now0), announcementId: announcement.id, channel: channels[i % channels.length], recipient: null, priority: moderateExpected, dueAt: now0, expiresAt: announcement.expiresAt, maxAttempts, now: now0})
      }
    })()
    this.fanOutMs = performance.now() - fanOutStarted

    const claim = db.prepare(claimSql).raw(true)
    const recordAttempts = valuesStatement(db, 6, recordAttemptsSql)
    const recordSent = valuesStatement(db, 4, recordSentSql, {pluck: true})
    const claimRows = (now: number, limit: number) => {
      const claimed: Claimed[] = []
      for (const channel of this.channels) for (const row of claim.all({channel, owner: this.owner, now, leaseUntil: now + 60_000, limit}) as unknown[][]) claimed.push({id: row[0] as string})
      return claimed
    }
    const recordRows = (rows: Sent[], now: number) => {
      if (rows.length === 0) return
      recordAttempts.all(rows.map((row) => [row.id, row.startedAt, row.durationMs, 'sent', row.receipt, null]))
      const recorded = recordSent.all(rows.map((row) => [row.id, this.owner, row.receipt, null]), [now, now])
      if (recorded.length !== rows.length) throw new Error(`floor queue: recorded ${recorded.length} of ${rows.length}`)
    }
    const claimAll = db.transaction(claimRows)
    const record = db.transaction(recordRows)
    const claimAndRecord = db.transaction((rows: Sent[], now: number, limit: number) => {
      recordRows(rows, now)
      return claimRows(now, limit)
    })
    this.claimAll = (now, limit) => claimAll.immediate(now, limit)
    this.record = (rows, now) => record.immediate(rows, now)
    this.claimAndRecord = (rows, now, limit) => claimAndRecord.immediate(rows, now, limit)
  }

  /** The no-op floor: claims `limit` per channel in one commit, records them in commits of groupCommitSize, until none is left. */
  drain(limit: number): void {
    for (;;) {
      const claimed = this.claimAll(Date.now(), limit)
      if (claimed.length === 0) break
      for (let i = 0; i < claimed.length; i += groupCommitSize) {
        const now = Date.now()
        this.record(claimed.slice(i, i + groupCommitSize).map(({id}) => ({id, startedAt: now, durationMs: 0, receipt: 'ok'})), now)
      }
    }
  }

  /**
   * The next delivery to send, or undefined when none is left. Holds `target` claimed (waiting
   * and in flight) as the dispatcher does, topping up when half is free; the results buffered
   * so far ride along with the claim's commit.
   */
  next(target: number): string | undefined {
    const want = target - this.waiting.length - this.inFlight
    if (this.waiting.length === 0 || want >= target / 2) {
      const rows = this.sent
      this.sent = []
      for (const row of this.claimAndRecord(rows, Date.now(), Math.max(want, 1))) this.waiting.push(row)
    }
    const delivery = this.waiting.shift()
    if (delivery) this.inFlight++
    return delivery?.id
  }

  /** Buffers a sent delivery's attempt and result, committed with the next claim or when groupCommitSize are waiting. */
  done(id: string, startedAt: number, receipt: string): void {
    this.inFlight--
    this.sent.push({id, startedAt, durationMs: Date.now() - startedAt, receipt})
    if (this.sent.length >= groupCommitSize) this.flush()
  }

  /** Commits what is buffered; checks that every delivery ended sent, and closes. */
  finish(): void {
    this.flush()
    const sent = this.db.prepare(`SELECT count(*) FROM delivery WHERE state = 'sent'`).pluck().get() as number
    this.db.close()
    if (sent !== this.count) throw new Error(`floor queue: expected ${this.count} sent, found ${sent}`)
  }

  private flush(): void {
    const rows = this.sent
    this.sent = []
    this.record(rows, Date.now())
  }
}
