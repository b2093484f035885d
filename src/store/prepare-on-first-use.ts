import type {Statement} from 'better-sqlite3'
import type {Db} from './open.js'

// A command uses a handful of the store's ~90 statements, and preparing every one of them when
// the store opened cost each command ~4 ms of its start-up. The store modules are given a
// connection whose prepare() returns a stand-in that prepares the statement when it is first
// used; prepareEveryStatement (a test calls it) still checks that each one compiles.

/** The modes a store module sets on a statement when it makes it, replayed once it is prepared. */
const modes = new Set<PropertyKey>(['pluck', 'raw', 'expand', 'safeIntegers'])

const statementsOf = new WeakMap<Db, Array<() => Statement>>()

/** `db`, but prepare() defers the work to the statement's first use. */
export function preparingOnFirstUse(db: Db): Db {
  const statements = statementsOf.get(db) ?? []
  statementsOf.set(db, statements)
  const prepare = (sql: string): Statement => {
    const {statement, prepareNow} = onFirstUse(db, sql)
    statements.push(prepareNow)
    return statement
  }
  return new Proxy(db, {
    get(target, property) {
      if (property === 'prepare') return prepare
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** Prepares every statement made so far through preparingOnFirstUse(db): throws on the first that does not compile. */
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
