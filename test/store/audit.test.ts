import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import Database from 'better-sqlite3'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {rememberSecret} from '../../src/config/secrets.js'
import {canonicalRow, chainHash, genesisHash, verifyPageRows, type AuditEvent} from '../../src/store/audit.js'
import {openStore, type Store} from '../../src/store/index.js'
import {migrations} from '../../src/store/migrations.js'
import {sayWhenWaiting} from '../../src/store/write-lock.js'
import {makeAnnouncement} from '../helpers/announcement.js'

let dir: string
let path: string
let store: Store

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crier-audit-'))
  path = join(dir, 'crier.db')
  store = openStore(path, {actor: 'pc.jones'})
})

afterEach(() => {
  store.close()
  rmSync(dir, {recursive: true, force: true})
})

const allRows = (s: Store): AuditEvent[] => [...s.audit.rows()]

/** `count` filler events in one transaction. */
function appendMany(s: Store, count: number): void {
  s.transaction(() => {
    for (let i = 0; i < count; i++) s.audit.append({action: 'subscriber-opted-out', subject: `c${i % 97}`, at: 1_700_000_000_000 + i, details: {how: `test ${i}`, n: i}})
  })
}

/** The guard triggers' CREATE statements, as the migration wrote them. */
const guardSql = [...migrations.join('\n').matchAll(/CREATE TRIGGER audit_\w+[\s\S]*?END;/g)].map(([sql]) => sql)

/**
 * Changes the file the way someone with sqlite3 and write access could: triggers dropped
 * first and, unless `leaveGuardsDropped`, put back after, as a careful forger would.
 */
function tamper(sql: string, leaveGuardsDropped = false): void {
  store.close()
  const raw = new Database(path)
  try {
    for (const create of guardSql) raw.exec(`DROP TRIGGER IF EXISTS ${/CREATE TRIGGER (\w+)/.exec(create)![1]}`)
    raw.exec(sql)
    if (!leaveGuardsDropped) for (const create of guardSql) raw.exec(create)
  } finally {
    raw.close()
  }
  store = openStore(path, {actor: 'pc.jones'})
}

describe('the audit trail', () => {
  it('chains each row to the one before: hash = SHA-256(prev_hash ‖ canonical row)', () => {
    const announcement = makeAnnouncement({state: 'pending_approval', severity: 'Severe'})
    store.transaction(() => store.announcements.insert(announcement))
    store.transaction(() => store.announcements.addApproval({announcementId: announcement.id, approver: 'sgt.evans', contentHash: 'c0ffee', approvedAt: 1_700_000_000_000}))
    store.transaction(() => store.announcements.setState(announcement.id, 'approved', 1_700_000_001_000))

    const rows = allRows(store)
    expect(rows.map((row) => [row.seq, row.actor, row.action, row.subject])).toEqual([
      [1, 'pc.jones', 'created', announcement.id],
      [2, 'sgt.evans', 'approved', announcement.id],
      [3, 'pc.jones', 'state-changed', announcement.id],
    ])
    expect(JSON.parse(rows[2]!.details)).toEqual({from: 'pending_approval', to: 'approved'})
    let prev = genesisHash
    for (const row of rows) {
      expect(row.prevHash).toBe(prev)
      expect(row.hash).toBe(chainHash(prev, canonicalRow(row.seq, row.at, row.actor, row.action, row.subject, row.details)))
      prev = row.hash
    }
    expect(store.audit.head()).toEqual({seq: 3, hash: prev})
    expect(store.audit.verify()).toEqual({ok: true, events: 3, headHash: prev})
  })

  it('hashes text as SQLite stores it, so odd Unicode (a lone surrogate, emoji, Welsh) still verifies', () => {
    const odd = openStore(path, {actor: 'sgt.\uD800evans 🚓'})
    try {
      odd.audit.append({action: 'rejected', subject: 'Llanfair\uDC00pwll 🌊', details: {reason: 'Dŵr \uD83D only half an emoji'}})
    } finally {
      odd.close()
    }
    const [row] = allRows(store)
    expect(row!.actor).toBe('sgt.\uFFFDevans 🚓')
    expect(store.audit.verify()).toMatchObject({ok: true, events: 1})
  })

  it('records nothing for a change that rolls back: the change and its event commit together', () => {
    store.transaction(() => store.announcements.insert(makeAnnouncement()))
    expect(() =>
      store.transaction(() => {
        store.announcements.insert(makeAnnouncement())
        throw new Error('refused half-way')
      }),
    ).toThrow('refused half-way')
    expect(allRows(store).map((row) => row.seq)).toEqual([1])
    expect(store.announcements.count()).toBe(1)
    expect(store.audit.verify()).toMatchObject({ok: true, events: 1})
  })

  it('refuses UPDATE and DELETE of its rows, an out-of-order INSERT, and moving the head by hand', () => {
    appendMany(store, 3)
    expect(() => store.db.prepare(`UPDATE audit_event SET actor = 'someone.else' WHERE seq = 2`).run()).toThrow(/append-only/)
    expect(() => store.db.prepare(`DELETE FROM audit_event WHERE seq = 3`).run()).toThrow(/append-only/)
    expect(() => store.db.prepare(`DELETE FROM audit_event`).run()).toThrow(/append-only/)
    expect(() =>
      store.db.prepare(`INSERT INTO audit_event (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (9, 0, 'x', 'x', NULL, '{}', 'x', 'x')`).run(),
    ).toThrow(/must follow the last one/)
    expect(() => store.db.prepare(`UPDATE audit_head SET seq = 2`).run()).toThrow(/moves only with a new audit_event row/)
    expect(() => store.db.prepare(`DELETE FROM audit_head`).run()).toThrow(/cannot be deleted/)
    expect(store.audit.verify()).toMatchObject({ok: true, events: 3})
  })

  it('verify names a row whose field was changed after it was written', () => {
    appendMany(store, 10)
    tamper(`UPDATE audit_event SET details = replace(details, 'test 4', 'test 44') WHERE seq = 5`)
    expect(store.audit.verify()).toEqual({ok: false, events: 4, row: 5, problem: 'row 5 does not match its hash (changed after it was written)'})
  })

  it('verify names a deleted row', () => {
    appendMany(store, 10)
    tamper(`DELETE FROM audit_event WHERE seq = 3`)
    expect(store.audit.verify()).toMatchObject({ok: false, row: 3, problem: 'row 3 is missing (deleted): row 2 is followed by row 4'})
  })

  it('verify names a swapped pair of rows', () => {
    appendMany(store, 10)
    tamper(`UPDATE audit_event SET seq = -1 WHERE seq = 6; UPDATE audit_event SET seq = 6 WHERE seq = 7; UPDATE audit_event SET seq = 7 WHERE seq = -1;`)
    const verdict = store.audit.verify()
    expect(verdict).toMatchObject({ok: false, row: 6})
    expect(verdict.ok === false && verdict.problem).toMatch(/^rows 6 and 7 are swapped/)
  })

  it('verify notices a truncated tail through the head the triggers keep', () => {
    appendMany(store, 10)
    tamper(`DELETE FROM audit_event WHERE seq > 7`)
    expect(store.audit.verify()).toEqual({ok: false, events: 7, row: 8, problem: 'the chain ends at row 7 but 10 events were written: rows 8–10 are missing (truncated)'})
  })

  it('verify fails a whole chain whose guard triggers were dropped or rewritten: the tail could have gone with the head', () => {
    appendMany(store, 10)
    expect(guardSql).toHaveLength(8)
    // The last two rows deleted and the head rewritten to the new last row: the chain alone looks whole.
    tamper(`DELETE FROM audit_event WHERE seq > 8; UPDATE audit_head SET seq = 8, hash = (SELECT hash FROM audit_event WHERE seq = 8)`, true)
    const verdict = store.audit.verify()
    expect(verdict).toMatchObject({ok: false, events: 8, row: 8})
    expect(verdict.ok === false && verdict.problem).toMatch(/^the triggers that keep it append-only were tampered with outside crier \(audit_event_no_update, audit_event_no_delete, .+ were dropped\)/)

    // Put back, one of them as a no-op under its own name.
    tamper(`DELETE FROM audit_event WHERE seq > 7; UPDATE audit_head SET seq = 7, hash = (SELECT hash FROM audit_event WHERE seq = 7)`)
    store.close()
    const raw = new Database(path)
    raw.exec(`DROP TRIGGER audit_event_no_delete; CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event WHEN 0 BEGIN SELECT 1; END;`)
    raw.close()
    store = openStore(path, {actor: 'pc.jones'})
    const rewritten = store.audit.verify()
    expect(rewritten.ok === false && rewritten.problem).toMatch(/\(audit_event_no_delete was rewritten\)/)
  })

  it('refuses INSERT OR REPLACE of the head or of a row: a replaced row fires no DELETE trigger', () => {
    // The head set back to row 3, then rows 4… written again with a forged actor, every guard in place.
    appendMany(store, 7)
    store.close()
    const raw = new Database(path)
    try {
      const third = raw.prepare('SELECT hash FROM audit_event WHERE seq = 3').pluck().get() as string
      expect(() => raw.prepare('INSERT OR REPLACE INTO audit_head (id, seq, hash) VALUES (1, 3, ?)').run(third)).toThrow(/audit_head is written once: it cannot be replaced/)
      const row = raw.prepare('SELECT * FROM audit_event WHERE seq = 4').get() as Record<string, unknown>
      expect(() => raw.prepare('INSERT OR REPLACE INTO audit_event (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (@seq, @at, @actor, @action, @subject, @details, @prev_hash, @hash)').run({...row, actor: 'supt.forged'})).toThrow(/its rows cannot be replaced/)
    } finally {
      raw.close()
    }
    store = openStore(path, {actor: 'pc.jones'})
    expect(store.audit.verify()).toMatchObject({ok: true, events: 7})
    expect(allRows(store).map((row) => row.actor)).not.toContain('supt.forged')
  })

  it("verify fails a row whose prev_hash alone was changed, as a checker of the export would", () => {
    appendMany(store, 5)
    tamper(`UPDATE audit_event SET prev_hash = '${'f'.repeat(64)}' WHERE seq = 3`)
    expect(store.audit.verify()).toEqual({ok: false, events: 2, row: 3, problem: "row 3's prev_hash is not row 2's hash (changed after it was written)"})
  })

  it('with its guards dropped, says so first when crier has gone on writing rows that no longer move the head', () => {
    appendMany(store, 3)
    tamper('SELECT 1', true)
    appendMany(store, 1)
    const verdict = store.audit.verify()
    expect(verdict).toMatchObject({ok: false, row: 4})
    expect(verdict.ok === false && verdict.problem).toMatch(/^the triggers that keep it append-only were tampered with outside crier \(.+ were dropped\); row 4 was written since without moving the head$/)
  })

  it('verify names the row after one that was rewritten with a fresh hash', () => {
    appendMany(store, 6)
    const row = allRows(store)[2]!
    const details = row.details.replace('test 2', 'forged')
    const forged = chainHash(row.prevHash, canonicalRow(row.seq, row.at, row.actor, row.action, row.subject, details))
    tamper(`UPDATE audit_event SET details = '${details}', hash = '${forged}' WHERE seq = 3`)
    const verdict = store.audit.verify()
    expect(verdict).toMatchObject({ok: false, row: 4})
    expect(verdict.ok === false && verdict.problem).toMatch(/^row 4 does not follow row 3: its prev_hash matches no row/)
  })

  it('passes on an untouched chain of 100,000 events', () => {
    appendMany(store, 100_000)
    const verdict = store.audit.verify()
    expect(verdict).toEqual({ok: true, events: 100_000, headHash: store.audit.head().hash})
  })

  it('keeps the canonical row of text JSON escapes: quotes, backslashes, control characters; U+2028 as it is', () => {
    const subject = 'a "quoted" \\ path\n\u0001\u2028end'
    expect(canonicalRow(7, 1_700_000_000_000, 'pc.jones', 'rejected', subject, '{"x":"\\n"}')).toBe(
      '[7,1700000000000,"pc.jones","rejected","a \\"quoted\\" \\\\ path\\n\\u0001\u2028end"]\n{"x":"\\n"}',
    )
    store.audit.append({action: 'rejected', subject, details: {reason: `tab\there, "quote", back\\slash, \u001f`}})
    expect(store.audit.verify()).toMatchObject({ok: true, events: 1})
    tamper(`UPDATE audit_event SET details = replace(details, 'quote', 'quota') WHERE seq = 1`)
    expect(store.audit.verify()).toEqual({ok: false, events: 0, row: 1, problem: 'row 1 does not match its hash (changed after it was written)'})
  })

  /** Rows written straight through the table's INSERT, hashed by the documented canonical form alone. */
  function insertRaw(s: Store, rows: Array<{at: number | bigint; actor: string; action: string; subject: string | null; details: string; atAsRead?: number}>): void {
    const insert = s.db.prepare(`INSERT INTO audit_event (seq, at, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
    s.transaction(() => {
      let {seq, hash: prev} = s.audit.head()
      for (const row of rows) {
        seq++
        const hash = chainHash(prev, canonicalRow(seq, row.atAsRead ?? Number(row.at), row.actor, row.action, row.subject, row.details))
        insert.run(seq, row.at, row.actor, row.action, row.subject, row.details, prev, hash)
        prev = hash
      }
    })
  }

  it('verifies rows holding every ASCII character and odd Unicode in their fields, as canonicalRow writes them', () => {
    const odd = ['é', '–', '\u2028', '\u2029', '\u0085', '\u00a0', '\ufeff', '\ufffd', '🚓', "'", '\u007f', '']
    const texts = [...Array.from({length: 128}, (_, code) => String.fromCharCode(code)), ...odd]
    insertRaw(store, texts.map((text, i) => ({
      at: [0, -1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 1_700_000_000_000 + i][i % 5]!,
      actor: `pc.${text}jones`,
      action: `${text}`,
      subject: i % 3 === 0 ? null : `s${text}${text}`,
      details: JSON.stringify({text}),
    })))
    expect(store.audit.verify()).toEqual({ok: true, events: texts.length, headHash: store.audit.head().hash})
  })

  it('checks a row whose time JavaScript cannot read exactly from its fields as JavaScript reads them', () => {
    appendMany(store, 3)
    insertRaw(store, [{at: 2n ** 60n + 1n, atAsRead: 2 ** 60, actor: 'pc.jones', action: 'rejected', subject: 'x', details: '{}'}])
    appendMany(store, 2)
    expect(store.audit.verify()).toMatchObject({ok: true, events: 6})
    tamper(`UPDATE audit_event SET at = at + 4096 WHERE seq = 4`)
    expect(store.audit.verify()).toEqual({ok: false, events: 3, row: 4, problem: 'row 4 does not match its hash (changed after it was written)'})
  })

  describe('verify reads the chain in pages: a break at a page boundary is named as anywhere else', () => {
    const page = verifyPageRows
    const events = 2 * page + page / 2

    it.each([page, page + 1, 2 * page])('a changed row %i', (row) => {
      appendMany(store, events)
      tamper(`UPDATE audit_event SET details = replace(details, 'test', 'TEST') WHERE seq = ${row}`)
      expect(store.audit.verify()).toEqual({ok: false, events: row - 1, row, problem: `row ${row} does not match its hash (changed after it was written)`})
    })

    it.each([
      [page, page, `row ${page} is missing (deleted): row ${page - 1} is followed by row ${page + 1}`],
      [page + 1, page + 1, `row ${page + 1} is missing (deleted): row ${page} is followed by row ${page + 2}`],
      [page, page + 1, `rows ${page}–${page + 1} are missing (deleted): row ${page - 1} is followed by row ${page + 2}`],
    ])('deleted rows %i–%i', (from, to, problem) => {
      appendMany(store, events)
      tamper(`DELETE FROM audit_event WHERE seq BETWEEN ${from} AND ${to}`)
      expect(store.audit.verify()).toEqual({ok: false, events: from - 1, row: from, problem})
    })

    it('a tail cut off right after a full page', () => {
      appendMany(store, events)
      tamper(`DELETE FROM audit_event WHERE seq > ${2 * page}`)
      expect(store.audit.verify()).toEqual({ok: false, events: 2 * page, row: 2 * page + 1, problem: `the chain ends at row ${2 * page} but ${events} events were written: rows ${2 * page + 1}–${events} are missing (truncated)`})
    })

    it('a row slipped in before row 1 (the first page has no lower bound)', () => {
      appendMany(store, events)
      tamper(`INSERT INTO audit_event (seq, at, actor, action, subject, details, prev_hash, hash) SELECT 0, at, actor, action, subject, details, prev_hash, hash FROM audit_event WHERE seq = 1`)
      expect(store.audit.verify()).toEqual({ok: false, events: 0, row: 1, problem: 'row 0 is out of place: the chain starts at row 0'})
    })

    it('passes on a chain that ends mid-page and on one that fills its last page', () => {
      appendMany(store, events)
      expect(store.audit.verify()).toEqual({ok: true, events, headHash: store.audit.head().hash})
      appendMany(store, page / 2)
      expect(store.audit.verify()).toEqual({ok: true, events: 3 * page, headHash: store.audit.head().hash})
    })
  })

  it('lists the newest events oldest first, by subject and since a time', () => {
    appendMany(store, 200)
    expect(store.audit.list({limit: 3}).map((row) => row.seq)).toEqual([198, 199, 200])
    expect(store.audit.list({subject: 'c5', limit: 2}).map((row) => row.seq)).toEqual([103, 200])
    expect(store.audit.list({since: 1_700_000_000_000 + 197}).map((row) => row.seq)).toEqual([198, 199, 200])
  })

  it('records a config only when its fingerprint differs from the last one recorded', () => {
    expect(store.audit.recordConfigLoad({source: '/etc/crier.yaml', sha256: 'a'.repeat(64)})).toBe(true)
    expect(store.audit.recordConfigLoad({source: '/etc/crier.yaml', sha256: 'a'.repeat(64)})).toBe(false)
    appendMany(store, 2)
    expect(store.audit.recordConfigLoad({source: '/etc/crier.yaml', sha256: 'a'.repeat(64)})).toBe(false)
    expect(store.audit.recordConfigLoad({source: '/etc/crier.yaml', sha256: 'b'.repeat(64)})).toBe(true)
    expect(allRows(store).filter((row) => row.action === 'config-loaded')).toHaveLength(2)
  })

  it('records the zone a config names, once; commands that read no config show times in it', () => {
    expect(store.audit.lastConfigTimeZone()).toBeUndefined()
    // Written before records carried the zone: the same config is recorded again, with it.
    expect(store.audit.recordConfigLoad({source: '/etc/crier.yaml', sha256: 'a'.repeat(64)})).toBe(true)
    expect(store.audit.recordConfigLoad({source: '/etc/crier.yaml', sha256: 'a'.repeat(64), timeZone: 'Pacific/Auckland'})).toBe(true)
    expect(store.audit.recordConfigLoad({source: '/etc/crier.yaml', sha256: 'a'.repeat(64), timeZone: 'Pacific/Auckland'})).toBe(false)
    expect(store.audit.lastConfigTimeZone()).toBe('Pacific/Auckland')
    // A config that names none: times in this machine's zone again.
    expect(store.audit.recordConfigLoad({source: '/etc/crier.yaml', sha256: 'b'.repeat(64)})).toBe(true)
    expect(store.audit.lastConfigTimeZone()).toBeUndefined()
    expect(store.audit.verify()).toMatchObject({ok: true})
  })

  it('redacts every secret this process has read from the details it stores', () => {
    rememberSecret('hunter2-webhook-secret')
    store.audit.append({action: 'rejected', subject: 'x', details: {reason: 'pasted hunter2-webhook-secret by mistake', nested: ['hunter2-webhook-secret']}})
    const [row] = allRows(store)
    expect(row!.details).not.toContain('hunter2')
    expect(JSON.parse(row!.details)).toEqual({reason: 'pasted *** by mistake', nested: ['***']})
  })

  it('keeps opted-out contacts masked, with a hash to match them', () => {
    store.transaction(() => store.subscribers.optOut('ceri@example.org', 'command', 1_700_000_000_000))
    store.transaction(() => store.subscribers.optOut('ceri@example.org', 'command', 1_700_000_000_001))
    const rows = allRows(store)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({action: 'subscriber-opted-out', subject: 'c***@example.org'})
    expect(rows[0]!.details).not.toContain('ceri@')
  })
})

describe('a sender waiting for the lock (waitQuietly)', () => {
  it('waits for another process without a word once it sends, and still writes', () => {
    // The live view draws its frame on the same terminal: a line there leaves a stale copy of it.
    let said = 0
    sayWhenWaiting(store.db, 200, () => said++)
    const holder = new Database(path, {timeout: 5000})
    const write = () => store.transaction(() => store.subscribers.optOut('quiet@example.org', 'command', Date.now()))
    try {
      holder.prepare('BEGIN IMMEDIATE').run()
      expect(() => write()).toThrow(/busy|locked/i)
      expect(said).toBe(1)
      store.waitQuietly()
      said = 0
      expect(() => write()).toThrow(/busy|locked/i)
      expect(said).toBe(0)
      holder.prepare('COMMIT').run()
      write()
    } finally {
      holder.close()
    }
    expect(said).toBe(0)
    expect(allRows(store).filter((row) => row.action === 'subscriber-opted-out')).toHaveLength(1)
  })
})

describe('a record left in passing (appendIfFree)', () => {
  it('is skipped at once while another crier holds the database, and written once it is free', () => {
    // Were it to wait for the lock as a send does, it would wait past the test's own timeout —
    // even on a connection that waits for the lock, saying so, as an officer's command does.
    store.db.pragma('busy_timeout = 600000')
    let said = 0
    sayWhenWaiting(store.db, 600000, () => said++)
    const importer = new Database(path, {timeout: 5000})
    try {
      importer.prepare('BEGIN IMMEDIATE').run()
      expect(store.audit.appendIfFree({action: 'previewed', subject: 'A1', details: {contentHash: 'abc'}})).toBe(false)
      expect(said).toBe(0)
      importer.prepare('COMMIT').run()
    } finally {
      importer.close()
    }
    expect(store.db.pragma('busy_timeout', {simple: true})).toBe(600000)
    expect(store.audit.appendIfFree({action: 'previewed', subject: 'A1', details: {contentHash: 'abc'}})).toBe(true)
    expect(allRows(store).filter((row) => row.action === 'previewed')).toHaveLength(1)
    expect(store.audit.verify()).toMatchObject({ok: true})
  })
})

describe('the config a reader loaded (recordConfigLoad ifFree)', () => {
  it('is not waited for while another crier holds the database; the next look records it, once', () => {
    store.db.pragma('busy_timeout = 600000')
    const fingerprint = {source: '/etc/crier/config.yaml', sha256: 'f'.repeat(64)}
    const loads = () => allRows(store).filter((row) => row.action === 'config-loaded' && row.details.includes('f'.repeat(64)))
    const importer = new Database(path, {timeout: 5000})
    try {
      importer.prepare('BEGIN IMMEDIATE').run()
      expect(store.audit.recordConfigLoad(fingerprint, Date.now(), {ifFree: true})).toBe(false)
      importer.prepare('COMMIT').run()
    } finally {
      importer.close()
    }
    expect(loads()).toHaveLength(0)
    expect(store.audit.recordConfigLoad(fingerprint, Date.now(), {ifFree: true})).toBe(true)
    expect(store.audit.recordConfigLoad(fingerprint, Date.now(), {ifFree: true})).toBe(false)
    expect(loads()).toHaveLength(1)
    expect(store.audit.verify()).toMatchObject({ok: true})
  })
})
