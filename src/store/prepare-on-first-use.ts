import type {Statement} from 'better-sqlite3'
import type {Db} from './open.js'

// A command uses a handful of the store's ~90 statements, and preparing every one of them when
// the store opened cost each command ~4 ms of its start-up. While a store module is being built,
// its connection's prepare() returns a stand-in that prepares the statement when it is first
// used; prepareEveryStatement (a test calls it) still checks that each one compiles. SQL a
// module prepares later, as it runs (a list filter, an IN over the configured channels), is
// prepared at once as usual and never kept here: a worker makes such statements all day.

/** The modes a store module sets on a statement when it makes it, replayed once it is prepared. */
const modes = new Set<PropertyKey>(['pluck', 'raw', 'expand', 'safeIntegers'])

const statementsOf = new WeakMap<Db, Array<() => Statement>>()

/** Runs `build` (a store module's constructor) over `db` with its statements prepared on first use. */
export function buildPreparingOnFirstUse<T>(db: Db, build: (db: Db) => T): T {
  const statements = statementsOf.get(db) ?? []
  statementsOf.set(db, statements)
  let building = true
  const prepare = (sql: string): Statement => {
    if (!building) return db.prepare(sql)
    const {statement, prepareNow} = onFirstUse(db, sql)
    statements.push(prepareNow)
    return statement
  }
  const connection = new Proxy(db, {
    get(target, property) {
      if (property === 'prepare') return prepare
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
  try {
    return build(connection)
  } finally {
    building = false
  }
}

/** Prepares every statement the store modules over `db` made when built: throws on the first that does not compile. */
export function prepareEveryStatement(db: Db): number {
  const statements = statementsOf.get(db) ?? []
  for (const prepareNow of statements) prepareNow()
  return statements.length
}

function onFirstUse(db: Db, sql: string): {statement: Statement; prepareNow: () => Statement} {
  let prepared: Statement | undefined
  // Bound once: run/get/all are on the dispatcher's hot path.
  const methods = new Map<PropertyKey, unknown>()
  const settings: Array<[PropertyKey, unknown[]]> = []
  const prepareNow = (): Statement => {
    if (!prepared) {
      prepared = db.prepare(sql)
      for (const [mode, args] of settings) (Reflect.get(prepared, mode) as (...args: unknown[]) => unknown).apply(prepared, args)
    }
    return prepared
  }
  const statement: Statement = new Proxy({} as Statement, {
    get(_, property) {
      if (!prepared && modes.has(property)) {
        return (...args: unknown[]) => {
          settings.push([property, args])
          return statement
        }
      }
      const real = prepareNow()
      const method = methods.get(property)
      if (method) return method
      const value: unknown = Reflect.get(real, property, real)
      if (typeof value !== 'function') return value
      const bound = value.bind(real)
      methods.set(property, bound)
      return bound
    },
  })
  return {statement, prepareNow}
}
