import type Database from 'better-sqlite3'
import type {Db} from './open.js'

// A statement over many rows of values, bound as parameters — `VALUES (?, ?), (?, ?), …` — for
// the queue's group commits. Cheaper per row than a statement per row (better-sqlite3's cost per
// call) and than the rows as one JSON text (json_each hands each row over as text, parsed again
// for every field): instructions per delivery recorded, 137k → 129k under callgrind.

/** The most rows one statement takes; longer lists run in several. */
const maxRows = 128

export interface ValuesStatement {
  /** Runs over `rows` (each `width` values), `leading` bound before them; the rows RETURNING gave, in order. */
  all(rows: unknown[][], leading?: unknown[]): unknown[]
}

/**
 * `sql` receives the VALUES list to place (`VALUES (?, ?), …`, its columns column1, column2, …);
 * the statement for each size of chunk (128, 64, …, 1 rows) is prepared on first use.
 */
export function valuesStatement(db: Db, width: number, sql: (values: string) => string, options: {pluck?: boolean} = {}): ValuesStatement {
  const row = `(${Array.from({length: width}, () => '?').join(', ')})`
  const prepared = new Map<number, Database.Statement>()
  const statementFor = (size: number): Database.Statement => {
    let statement = prepared.get(size)
    if (!statement) {
      statement = db.prepare(sql(`VALUES ${Array.from({length: size}, () => row).join(', ')}`))
      if (options.pluck) statement.pluck()
      prepared.set(size, statement)
    }
    return statement
  }
  return {
    all(rows, leading = []) {
      const returned: unknown[] = []
      let at = 0
      while (at < rows.length) {
        // The biggest power of two that fits: 128 rows at a time, then at most one each of 64, 32, … 1.
        let size = maxRows
        while (size > rows.length - at) size >>= 1
        const values: unknown[] = leading.slice()
        for (let i = at; i < at + size; i++) for (const value of rows[i]!) values.push(value)
        const statement = statementFor(size)
        if (statement.reader) returned.push(...statement.all(values))
        else statement.run(values)
        at += size
      }
      return returned
    },
  }
}
