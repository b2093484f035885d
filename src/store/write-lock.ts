import type {Db} from './open.js'
import {isBusy} from './sqlite-errors.js'

// Every write transaction begins here (BEGIN IMMEDIATE: the write lock up front). A connection
// told to (sayWhenWaiting) first waits a moment without a word, and when another process still
// holds the lock — an officer's command behind a long subscriber import — says so once before
// it waits on, so a command that waits is never mistaken for one that hangs. The moment is for a
// sender's commits: a few milliseconds each, any of which an officer's command can land behind
// while `crier run` is sending, and then a line about waiting would only alarm.

/** How long a write waits before it says so: a second, or a quarter of a shorter timeout. */
export const quietLockWaitMs = 1000

interface LockWait {
  busyTimeoutMs: number
  onWait: () => void
  said: boolean
}

// On the connection itself, not in a WeakMap: store modules see it through a Proxy (prepare-on-first-use.ts).
const lockWaitKey = Symbol('crier lock wait')
type WithLockWait = Db & {[lockWaitKey]?: LockWait}

export function sayWhenWaiting(db: Db, busyTimeoutMs: number, onWait: () => void): void {
  ;(db as WithLockWait)[lockWaitKey] = {busyTimeoutMs, onWait, said: false}
}

/**
 * From now on the connection waits for the lock without a word: it is sending, and its waits are
 * its own queue thread's commits and other senders' — expected, and a line written then would
 * land inside the live view's frame.
 */
export function waitQuietly(db: Db): void {
  delete (db as WithLockWait)[lockWaitKey]
}

/** Runs fn in one BEGIN IMMEDIATE transaction (a savepoint inside another). */
export function writeTransaction<T>(db: Db, fn: () => T): T {
  const wait = (db as WithLockWait)[lockWaitKey]
  if (!wait || db.inTransaction) return db.transaction(fn).immediate()
  let began = false
  const run = db.transaction(() => {
    began = true
    return fn()
  })
  const quietMs = Math.min(quietLockWaitMs, Math.floor(wait.busyTimeoutMs / 4))
  db.pragma(`busy_timeout = ${quietMs}`)
  try {
    return run.immediate()
  } catch (error) {
    // Only a BEGIN that found the lock taken is tried again: fn had not run.
    if (began || !isBusy(error)) throw error
    if (!wait.said) wait.onWait()
    wait.said = true
    db.pragma(`busy_timeout = ${wait.busyTimeoutMs - quietMs}`)
    return run.immediate()
  } finally {
    db.pragma(`busy_timeout = ${wait.busyTimeoutMs}`)
  }
}
