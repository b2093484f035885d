import Database from 'better-sqlite3'
import {afterEach, describe, expect, it} from 'vitest'
import {valuesStatement} from '../../src/store/values-statement.js'

// Group commits bind their rows as VALUES lists in chunks of 128, 64, … 1: every row must land
// once, in order, whatever the count.

let db: Database.Database | undefined
afterEach(() => {
  db?.close()
  db = undefined
})

function table(): Database.Database {
  db = new Database(':memory:')
  db.exec(`CREATE TABLE t (n INTEGER PRIMARY KEY, label TEXT, state TEXT NOT NULL DEFAULT 'new') STRICT`)
  return db
}

describe('valuesStatement', () => {
  it.each([1, 2, 3, 127, 128, 129, 300, 1000])('inserts %i rows, each once', (count) => {
    const db = table()
    const insert = valuesStatement(db, 2, (values) => `INSERT INTO t (n, label) ${values}`)
    const rows = Array.from({length: count}, (_, i) => [i, `row ${i} "quoted", ünïcödé`])
    expect(insert.all(rows)).toEqual([])
    const stored = db.prepare(`SELECT n, label FROM t ORDER BY n`).raw(true).all()
    expect(stored).toEqual(rows)
  })

  it('binds the leading values before the rows, and returns what RETURNING gives for every chunk', () => {
    const db = table()
    valuesStatement(db, 2, (values) => `INSERT INTO t (n, label) ${values}`).all(Array.from({length: 300}, (_, i) => [i, null]))
    const mark = valuesStatement(db, 1, (values) => `UPDATE t SET state = ? FROM (${values}) AS r WHERE t.n = r.column1 RETURNING t.n`, {pluck: true})
    // 150 rows: a chunk of 128, then 16, 4 and 2; two of them name no row and return nothing.
    const wanted = [...Array.from({length: 148}, (_, i) => [i * 2]), [9999], [-1]]
    const returned = mark.all(wanted, ['marked']) as number[]
    expect(returned.sort((a, b) => a - b)).toEqual(Array.from({length: 148}, (_, i) => i * 2))
    expect(db.prepare(`SELECT count(*) FROM t WHERE state = 'marked'`).pluck().get()).toBe(148)
    expect(db.prepare(`SELECT count(*) FROM t WHERE state = 'new'`).pluck().get()).toBe(152)
  })
})
