import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import Database from 'better-sqlite3'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {ExitCode, RuntimeFailure} from '../../src/core/errors.js'
import {openStore} from '../../src/store/index.js'
import {unsentAttempts} from '../../src/store/deliveries.js'
import {latestVersion, migrations} from '../../src/store/migrations.js'
import {openDatabase, type Db} from '../../src/store/open.js'

let dir: string
let path: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crier-migrations-'))
  path = join(dir, 'crier.db')
})

afterEach(() => {
  rmSync(dir, {recursive: true, force: true})
})

const userVersion = (db: Db) => db.pragma('user_version', {simple: true}) as number
const integrity = (db: Db) => db.pragma('integrity_check', {simple: true}) as string
const tables = (db: Db) => db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all() as string[]

/** The tables each version brings; a new migration adds its line here. */
const tablesSince: Record<number, string[]> = {
  1: ['announcement', 'approval'],
  2: ['attempt', 'channel_pause', 'delivery'],
  3: ['channel_rate', 'optout', 'subscriber'],
  4: ['occurrence', 'schedule'],
  5: ['delivery_part'],
  6: ['audit_event', 'audit_head'],
  7: [],
  8: [],
  9: [],
  10: ['feed_refresh'],
  11: [],
  12: [],
  13: [],
  14: [],
  15: [],
  16: [],
  17: [],
}

const createdAt = Date.UTC(2026, 0, 1, 9, 30)

/**
 * Rows that are valid at `version`, written with the columns that version has (never the
 * store modules, which speak the latest schema). Returns what to look for after upgrading.
 */
function seedAt(db: Db, version: number): {announcementId?: string; deliveryId?: string; subscriberList?: string} {
  const seeded: {announcementId?: string; deliveryId?: string; subscriberList?: string} = {}
  if (version >= 1) {
    const id = `01JGZ${String(version).padStart(2, '0')}00000000000000000001`.slice(0, 26)
    db.prepare(
      `INSERT INTO announcement (id, identifier, sender, cap_status, msg_type, scope, category, event, urgency, severity,
        certainty, area_json, variants_json, channels_json, expires_at, state, author, created_at, updated_at)
       VALUES (@id, @identifier, 'alerts@northwales.example', 'Actual', 'Alert', 'Public', 'Transport', 'Road closure',
        'Expected', 'Severe', 'Observed', @area, @variants, '["website"]', @expires, 'pending_approval', 'pc.jones', @at, @at)`,
    ).run({
      id,
      identifier: `crier-${id}`,
      area: JSON.stringify({description: 'Bangor, Gwynedd', polygons: [], circles: [], geocodes: []}),
      variants: JSON.stringify([{language: 'en-GB', headline: 'A55 closed — Bangor', description: 'The A55 is closed westbound. Dŵr & “quotes”.'}]),
      expires: createdAt + 6 * 3_600_000,
      at: createdAt,
    })
    db.prepare(`INSERT INTO approval (announcement_id, approver, content_hash, approved_at) VALUES (?, 'sgt.evans', 'abc123', ?)`).run(id, createdAt + 60_000)
    seeded.announcementId = id
  }
  if (version >= 2) {
    const deliveryId = `01JGZ${String(version).padStart(2, '0')}0000000000000000000D`.slice(0, 26)
    db.prepare(
      `INSERT INTO delivery (id, announcement_id, channel, recipient, state, priority, due_at, expires_at, attempts, max_attempts,
        last_error, created_at, updated_at)
       VALUES (?, ?, 'website', NULL, 'failed', 2, ?, NULL, 1, 8, 'disk full', ?, ?)`,
    ).run(deliveryId, seeded.announcementId, createdAt, createdAt, createdAt)
    db.prepare(`INSERT INTO attempt (delivery_id, started_at, duration_ms, outcome, error) VALUES (?, ?, 12, 'transient', 'disk full')`).run(deliveryId, createdAt)
    db.prepare(`INSERT INTO channel_pause (channel, paused_until, reason) VALUES ('website', ?, 'rate limited')`).run(createdAt + 1000)
    seeded.deliveryId = deliveryId
  }
  if (version >= 3) {
    db.prepare(`INSERT INTO subscriber (list, name, email, phone, language, tags_json, created_at, updated_at)
      VALUES ('residents', 'Ceri', 'ceri@example.org', '+447700900123', 'cy-GB', '["responders"]', ?, ?)`).run(createdAt, createdAt)
    db.prepare(`INSERT INTO optout (contact, opted_out_at, how) VALUES ('+447700900123', ?, 'command')`).run(createdAt)
    seeded.subscriberList = 'residents'
  }
  return seeded
}

describe('migrations', () => {
  it('are numbered from 1 with no gaps: latestVersion is their count', () => {
    expect(latestVersion).toBe(migrations.length)
    expect(latestVersion).toBeGreaterThanOrEqual(2)
    for (let version = 1; version <= latestVersion; version++) expect(tablesSince[version], `tablesSince lists migration ${version}`).toBeDefined()
  })

  it('bring a new file to the latest version, with WAL and foreign keys on, mode 0600', () => {
    const db = openDatabase(path)
    try {
      expect(userVersion(db)).toBe(latestVersion)
      expect(tables(db)).toEqual(expect.arrayContaining(Object.values(tablesSince).flat()))
      expect(db.pragma('journal_mode', {simple: true})).toBe('wal')
      expect(db.pragma('foreign_keys', {simple: true})).toBe(1)
      expect(integrity(db)).toBe('ok')
    } finally {
      db.close()
    }
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })

  /** How SQLite would run `sql` on a new file: its query plan's steps, joined with " | ". */
  const planOf = (sql: string, ...params: unknown[]): string => {
    const db = openDatabase(path)
    try {
      return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{detail: string}>).map((step) => step.detail).join(' | ')
    } finally {
      db.close()
    }
  }

  it("find an announcement's follow-ups through an index, not by reading every announcement", () => {
    const plan = planOf(`SELECT id FROM announcement WHERE references_id IN (SELECT value FROM json_each(?)) AND msg_type IN ('Update', 'Cancel')`, '[]')
    expect(plan).toMatch(/SEARCH announcement USING INDEX announcement_by_reference/)
  })

  it("find a contact's subscriptions in every list through an index, not by reading every subscriber", () => {
    const plan = planOf(`SELECT count(*) FROM subscriber WHERE email = ? OR phone = ?`, 'a@b.example', '+447700900123')
    expect(plan).toMatch(/SEARCH subscriber USING (COVERING )?INDEX subscriber_by_email \(email=\?\)/)
    expect(plan).toMatch(/SEARCH subscriber USING (COVERING )?INDEX subscriber_by_phone \(phone=\?\)/)
  })

  it("find an announcement's unsent attempts and broadcast deliveries through indexes, not by reading all its deliveries", () => {
    const attempts = planOf(`WITH ${unsentAttempts} SELECT count(*) FROM unsent`, {id: '01JD0000000000000000000000'})
    expect(attempts).toMatch(/SEARCH a USING INDEX attempt_unsent \(delivery_id>\? AND delivery_id<\?\)/)
    expect(attempts).toMatch(/SEARCH d USING INDEX delivery_broadcast \(announcement_id=\?\)/)
    expect(attempts).not.toMatch(/delivery_by_announcement|SCAN (a|d)\b/)
    const receipts = planOf(`SELECT id FROM delivery WHERE announcement_id = ? AND recipient IS NULL`, '01JD0000000000000000000000')
    expect(receipts).toMatch(/SEARCH delivery USING INDEX delivery_broadcast \(announcement_id=\?\)/)
  })

  it('bring an empty (0-byte) file to the latest version', () => {
    writeFileSync(path, '')
    const db = openDatabase(path)
    try {
      expect(userVersion(db)).toBe(latestVersion)
      expect(tables(db)).toEqual(expect.arrayContaining(Object.values(tablesSince).flat()))
      expect(integrity(db)).toBe('ok')
    } finally {
      db.close()
    }
  })

  it('stop at targetVersion, with exactly the tables of that version', () => {
    for (let version = 0; version <= latestVersion; version++) {
      const file = join(dir, `v${version}.db`)
      const db = openDatabase(file, {targetVersion: version})
      try {
        expect(userVersion(db)).toBe(version)
        const expected = Object.entries(tablesSince)
          .filter(([since]) => Number(since) <= version)
          .flatMap(([, names]) => names)
          .sort()
        expect(tables(db)).toEqual(expected)
      } finally {
        db.close()
      }
    }
  })

  for (let from = 0; from < latestVersion; from++) {
    it(`upgrade a database from version ${from} to ${latestVersion}, keeping its data`, () => {
      const old = openDatabase(path, {targetVersion: from})
      let seeded: ReturnType<typeof seedAt>
      try {
        expect(userVersion(old)).toBe(from)
        seeded = seedAt(old, from)
      } finally {
        old.close()
      }

      const db = openDatabase(path)
      try {
        expect(userVersion(db)).toBe(latestVersion)
        expect(integrity(db)).toBe('ok')
        expect(db.pragma('foreign_key_check')).toEqual([])
        expect(tables(db)).toEqual(expect.arrayContaining(Object.values(tablesSince).flat()))
      } finally {
        db.close()
      }

      // The data reads back through the store modules that speak the latest schema.
      const store = openStore(path)
      try {
        if (seeded.announcementId) {
          const announcement = store.announcements.get(seeded.announcementId)
          expect(announcement).toBeDefined()
          expect(announcement!.state).toBe('pending_approval')
          expect(announcement!.severity).toBe('Severe')
          expect(announcement!.area?.description).toBe('Bangor, Gwynedd')
          expect(announcement!.variants[0]!.description).toBe('The A55 is closed westbound. Dŵr & “quotes”.')
          expect(announcement!.expiresAt).toBe(createdAt + 6 * 3_600_000)
          expect(store.announcements.approvals(seeded.announcementId).map((a) => a.approver)).toEqual(['sgt.evans'])
          expect(store.announcements.count()).toBe(1)
        } else {
          expect(store.announcements.count()).toBe(0)
        }
        if (seeded.deliveryId) {
          const [delivery] = store.deliveries.broadcastDeliveries(seeded.announcementId!)
          expect(delivery).toMatchObject({id: seeded.deliveryId, channel: 'website', state: 'failed', attempts: 1, lastError: 'disk full'})
          expect(store.deliveries.countsByChannel(seeded.announcementId!)[0]).toMatchObject({channel: 'website', failed: 1, retries: 1})
        }
        if (seeded.subscriberList) {
          expect(store.subscribers.listContactCounts()).toEqual([expect.objectContaining({list: 'residents', subscribers: 1, optedOut: 1})])
          expect([...store.subscribers.iterateList('residents')][0]).toMatchObject({name: 'Ceri', email: 'ceri@example.org', tags: ['responders'], optedOut: true})
        }
      } finally {
        store.close()
      }
    })
  }

  it('upgrade one version at a time through every version, keeping what each one wrote', () => {
    const seededIds: string[] = []
    for (let version = 1; version <= latestVersion; version++) {
      const db = openDatabase(path, {targetVersion: version})
      try {
        expect(userVersion(db)).toBe(version)
        // one more announcement at each version, under its own id
        const id = `01JH${String(version).padStart(2, '0')}`.padEnd(26, '0')
        db.prepare(
          `INSERT INTO announcement (id, identifier, sender, cap_status, msg_type, scope, category, event, urgency, severity,
            certainty, variants_json, channels_json, state, author, created_at, updated_at)
           VALUES (?, ?, 'a@example.org', 'Actual', 'Alert', 'Public', 'Other', 'Announcement', 'Unknown', 'Minor', 'Unknown',
            '[{"language":"en","headline":"h","description":"d"}]', '["website"]', 'draft', 'pc.jones', ?, ?)`,
        ).run(id, `crier-${id}`, createdAt + version, createdAt + version)
        seededIds.push(id)
        expect(db.prepare('SELECT id FROM announcement ORDER BY id').pluck().all()).toEqual(seededIds)
      } finally {
        db.close()
      }
    }
  })

  it('never go backwards: opening a newer-schema file with a lower targetVersion leaves it as it is', () => {
    openDatabase(path).close()
    const db = openDatabase(path, {targetVersion: 1})
    try {
      expect(userVersion(db)).toBe(latestVersion)
      expect(tables(db)).toEqual(expect.arrayContaining(Object.values(tablesSince).flat()))
    } finally {
      db.close()
    }
  })

  it('refuse a database from a newer crier (exit 1) and leave its bytes untouched', () => {
    const store = openStore(path)
    try {
      seedAt(store.db, latestVersion)
    } finally {
      store.close()
    }
    const raw = new Database(path)
    raw.pragma(`user_version = ${latestVersion + 1}`)
    raw.close()
    const before = readFileSync(path)
    const filesBefore = readdirSync(dir).sort()

    let caught: unknown
    try {
      openDatabase(path).close()
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(RuntimeFailure)
    expect((caught as RuntimeFailure).exitCode).toBe(ExitCode.failure)
    expect((caught as Error).message).toContain('newer crier')
    expect((caught as Error).message).toContain(`schema ${latestVersion + 1}`)

    expect(readFileSync(path).equals(before)).toBe(true)
    expect(readdirSync(dir).sort()).toEqual(filesBefore)
    const check = new Database(path, {readonly: true})
    try {
      expect(userVersion(check)).toBe(latestVersion + 1)
      expect(integrity(check)).toBe('ok')
    } finally {
      check.close()
    }
  })

  it('refuse a file that is not a database, and do not overwrite it', () => {
    writeFileSync(path, 'this is not a SQLite database, it is a note from the duty officer\n'.repeat(20))
    const before = readFileSync(path)
    expect(() => openDatabase(path)).toThrow(/not a readable crier database/)
    expect(readFileSync(path).equals(before)).toBe(true)
    expect(existsSync(path)).toBe(true)
  })
})

describe('migration 11', () => {
  it('marks what was published before it as written with +00:00, so references quote its <sent> as its readers hold it', () => {
    const old = openDatabase(path, {targetVersion: 10})
    const insert = old.prepare(`INSERT INTO announcement (id, identifier, sender, cap_status, msg_type, scope, category, event, urgency, severity,
        certainty, variants_json, channels_json, state, author, created_at, updated_at, issued_at)
      VALUES (@id, @id, 'alerts@northwales.example', 'Actual', 'Alert', 'Public', 'Transport', 'Road closure', 'Expected', 'Minor', 'Observed',
        '[{"language":"en","headline":"h","description":"d"}]', '["website"]', @state, 'pc.jones', @at, @at, @issued)`)
    insert.run({id: '01JGZ11000000000000000000A', state: 'sent', at: createdAt, issued: createdAt + 60_000})
    insert.run({id: '01JGZ11000000000000000000B', state: 'draft', at: createdAt, issued: null})
    old.close()
    const store = openStore(path)
    try {
      expect(store.announcements.get('01JGZ11000000000000000000A')!.utcWrittenAs).toBe('+00:00')
      expect(store.announcements.get('01JGZ11000000000000000000B')!.utcWrittenAs).toBeUndefined()
    } finally {
      store.close()
    }
  })
})
