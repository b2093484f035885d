import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {openStore, type Store} from '../../src/store/index.js'
import {openDatabase, type Db} from '../../src/store/open.js'
import {buildPreparingOnFirstUse, prepareEveryStatement} from '../../src/store/prepare-on-first-use.js'

let dir: string
let db: Db | undefined
let store: Store | undefined

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crier-prepare-'))
})

afterEach(() => {
  db?.close()
  store?.close()
  db = store = undefined
  rmSync(dir, {recursive: true, force: true})
})

describe('statements prepared on first use', () => {
  it('every statement of the store compiles against the latest schema', () => {
    store = openStore(join(dir, 'crier.db'))
    expect(prepareEveryStatement(store.db)).toBeGreaterThan(50)
  })

  it('keeps no statement a module prepares after it was built (dynamic SQL, made all day by a worker)', () => {
    store = openStore(join(dir, 'crier.db'))
    const built = prepareEveryStatement(store.db)
    for (let i = 0; i < 5; i++) {
      store.announcements.list({states: ['draft'], limit: 10})
      store.deliveries.nextDueAt(['website', 'partners'])
    }
    expect(prepareEveryStatement(store.db)).toBe(built)
  })

  it('defers a statement made while building until it is used, with the modes set when it was made', () => {
    db = openDatabase(join(dir, 'crier.db'))
    const made = buildPreparingOnFirstUse(db, (connection) => ({
      broken: connection.prepare('SELEC nothing'),
      count: connection.prepare(`SELECT count(*) FROM announcement WHERE state = ?`).pluck(),
      raw: connection.prepare(`SELECT 1 AS one, 2 AS two`).raw(true),
      connection,
    }))
    expect(made.count.get('draft')).toBe(0)
    expect(made.raw.get()).toEqual([1, 2])
    expect(() => made.broken.run()).toThrow(/syntax error/)
    expect(() => prepareEveryStatement(db!)).toThrow(/syntax error/)
    // Built: prepare() is the connection's own again, and fails at once.
    expect(() => made.connection.prepare('SELEC nothing')).toThrow(/syntax error/)
  })

  it('passes everything else through to the connection', () => {
    db = openDatabase(join(dir, 'crier.db'))
    const lazy = buildPreparingOnFirstUse(db, (connection) => connection)
    const insideTransaction = lazy.transaction(() => lazy.inTransaction)
    expect(insideTransaction.immediate()).toBe(true)
    expect(lazy.inTransaction).toBe(false)
    expect(lazy.pragma('journal_mode', {simple: true})).toBe('wal')
    lazy.exec(`CREATE TABLE scratch (x)`)
    expect(db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'scratch'`).pluck().get()).toBe(1)
  })
})
