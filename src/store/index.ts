import {announcementStore} from './announcements.js'
import {auditTrail, type AuditTrail} from './audit.js'
import {dashboardStore} from './dashboard.js'
import {deliveryStore} from './deliveries.js'
import {openDatabase, type Db, type OpenOptions} from './open.js'
import {buildPreparingOnFirstUse} from './prepare-on-first-use.js'
import {reportStore} from './reports.js'
import {sayWhenWaiting, waitQuietly, writeTransaction} from './write-lock.js'
import {scheduleStore} from './schedules.js'
import {subscriberStore} from './subscribers.js'

/** Everything crier keeps, one module per table family over one connection. */
export interface Store {
  db: Db
  announcements: ReturnType<typeof announcementStore>
  deliveries: ReturnType<typeof deliveryStore>
  subscribers: ReturnType<typeof subscriberStore>
  schedules: ReturnType<typeof scheduleStore>
  /** Cheap reads for the live view and the shift-start dashboard, and the view's retry. */
  dashboard: ReturnType<typeof dashboardStore>
  /** Delivery statistics over a window of time (crier report). */
  reports: ReturnType<typeof reportStore>
  /** The hash-chained audit trail; the other modules append to it as they change things. */
  audit: AuditTrail
  /**
   * How this store was opened, so that another thread can open its own connection to the same
   * file as the same actor; undefined for a store assembled by hand (benches, a silent trail).
   */
  origin?: {path: string; options: StoreOptions}
  /** Runs fn in one BEGIN IMMEDIATE transaction: the write lock is taken up front. */
  transaction<T>(fn: () => T): T
  /** Runs fn's reads in one deferred transaction: one WAL snapshot, no write lock, senders never wait. */
  snapshot<T>(fn: () => T): T
  /** Waits for other processes' write locks without saying so from here on (a sender's waits are expected). */
  waitQuietly(): void
  close(): void
}

export interface StoreOptions extends OpenOptions {
  /**
   * Called once when a write has to wait for another process's lock (an officer's command
   * behind a long import): the command can say why it is waiting rather than seem to hang.
   */
  onLockWait?: () => void
  /**
   * Who the audit trail records as acting. The CLI passes the acting user (CRIER_USER or the OS
   * user); code that opens the store itself (tests, benches) is recorded as "in-process".
   */
  actor?: string
}

export function openStore(path: string, options: StoreOptions = {}): Store {
  const db = openDatabase(path, options)
  if (options.onLockWait) sayWhenWaiting(db, options.busyTimeoutMs ?? 5000, options.onLockWait)
  const store = assembleStore(db, buildPreparingOnFirstUse(db, (connection) => auditTrail(connection, options.actor ?? 'in-process')))
  store.origin = {path, options: {busyTimeoutMs: options.busyTimeoutMs, actor: options.actor}}
  return store
}

/** The store's modules over one connection, all appending to `audit` (benches pass a silent one to measure its cost). */
export function assembleStore(db: Db, audit: AuditTrail): Store {
  return buildPreparingOnFirstUse(db, (connection) => ({
    db,
    announcements: announcementStore(connection, audit),
    deliveries: deliveryStore(connection),
    subscribers: subscriberStore(connection, audit),
    schedules: scheduleStore(connection, audit),
    dashboard: dashboardStore(connection, audit),
    reports: reportStore(connection),
    audit,
    transaction: (fn) => writeTransaction(db, fn),
    snapshot: (fn) => db.transaction(fn).deferred(),
    waitQuietly: () => waitQuietly(db),
    close: () => db.close(),
  }))
}
