import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {openStore, type Store} from '../../src/store/index.js'
import {prepareEveryStatement} from '../../src/store/prepare-on-first-use.js'

// Deliveries and attempts grow by a row per recipient per broadcast: a million after one county
// alert. A statement that reads all of them costs a duty officer seconds on every `status`, and
// the dashboard as much on every refresh. This reads the plan SQLite makes for each statement the
// store modules build and fails on any that reads one of those tables whole.

const growing = ['delivery', 'attempt']

let dir: string
let store: Store | undefined

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crier-plans-'))
})

afterEach(() => {
  store?.close()
  store = undefined
  rmSync(dir, {recursive: true, force: true})
})

/** Every SQL text the store modules prepare when built. */
function storeStatements(s: Store): string[] {
  const db = s.db as unknown as {prepare: (sql: string) => unknown}
  const prepare = db.prepare
  const seen: string[] = []
  db.prepare = (sql: string) => {
    seen.push(sql)
    return prepare.call(s.db, sql)
  }
  try {
    prepareEveryStatement(s.db)
  } finally {
    db.prepare = prepare
  }
  return seen
}

/** The steps of the statement's plan, its parameters bound to null (the plan does not depend on them). */
function planOf(s: Store, sql: string): string[] {
  const text = sql.replace(/'[^']*'/g, "''")
  const named = [...new Set([...text.matchAll(/[@:$]([A-Za-z_]\w*)/g)].map((match) => match[1]!))]
  const args: unknown[] = Array((text.match(/\?/g) ?? []).length).fill(null)
  if (named.length > 0) args.push(Object.fromEntries(named.map((name) => [name, null])))
  return (s.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{detail: string}>).map((step) => step.detail)
}

/** The names a growing table goes by in the statement: its own and its aliases. */
function namesOfGrowing(sql: string): Map<string, string> {
  const names = new Map(growing.map((table) => [table, table]))
  const keywords = new Set(['where', 'set', 'join', 'cross', 'left', 'inner', 'on', 'group', 'order', 'limit', 'values', 'using', 'returning', 'union', 'select'])
  for (const match of sql.matchAll(/\b(delivery|attempt)\s+(?:AS\s+)?([A-Za-z_]\w*)/gi)) {
    const alias = match[2]!
    if (!keywords.has(alias.toLowerCase()) && !alias.startsWith('(')) names.set(alias, match[1]!)
  }
  return names
}

describe('query plans', () => {
  it('no statement reads every delivery or attempt, but through a partial index (of the few sending, say)', () => {
    store = openStore(join(dir, 'crier.db'))
    const partial = new Set(store.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'`).pluck().all() as string[])
    const statements = storeStatements(store)
    expect(statements.length).toBeGreaterThan(50)
    const readingAll: string[] = []
    for (const sql of statements) {
      const names = namesOfGrowing(sql)
      for (const step of planOf(store, sql)) {
        const scan = /^SCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?/.exec(step)
        if (!scan || !names.has(scan[1]!)) continue
        if (scan[2] && partial.has(scan[2])) continue
        readingAll.push(`${step}\n  in ${sql.replace(/\s+/g, ' ').slice(0, 160)}`)
      }
    }
    expect(readingAll).toEqual([])
  })

  it('sees a statement that reads every delivery', () => {
    store = openStore(join(dir, 'crier.db'))
    const steps = planOf(store, `SELECT count(*) FROM delivery d WHERE d.last_error = @error`)
    expect(steps.some((step) => /^SCAN d\b/.test(step) && namesOfGrowing(`FROM delivery d`).has('d'))).toBe(true)
  })
})
