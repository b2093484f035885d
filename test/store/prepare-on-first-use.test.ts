import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {openStore, type Store} from '../../src/store/index.js'
import {openDatabase, type Db} from '../../src/store/open.js'
import {prepareEveryStatement, preparingOnFirstUse} from '../../src/store/prepare-on-first-use.js'

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

  it('defers a statement until it is used, with the modes set when it was made', () => {
    db = openDatabase(join(dir, 'crier.db'))
    const lazy = preparingOnFirstUse(db)
    const broken = lazy.prepare('SELEC nothing')
    const count = lazy.prepare(`SELECT count(*) FROM announcement WHERE state = ?`).pluck()
    const raw = lazy.prepare(`SELECT 1 AS one, 2 AS two`).raw(true)
    expect(count.get('draft')).toBe(0)
    expect(raw.get()).toEqual([1, 2])
    expect(() => broken.run()).toThrow(/syntax error/)
    expect(() => prepareEveryStatement(db!)).toThrow(/syntax error/)
  })

  it('passes everything else through to the connection', () => {
    db = openDatabase(join(dir, 'crier.db'))
    const lazy = preparingOnFirstUse(db)
    const insideTransaction = lazy.transaction(() => lazy.inTransaction)
    expect(insideTransaction.immediate()).toBe(true)
    expect(lazy.inTransaction).toBe(false)
    expect(lazy.pragma('journal_mode', {simple: true})).toBe('wal')
    lazy.exec(`CREATE TABLE scratch (x)`)
    expect(db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'scratch'`).pluck().get()).toBe(1)
  })
})
