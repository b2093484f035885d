import {announcementStore} from './announcements.js'
import {deliveryStore} from './deliveries.js'
import {openDatabase, type Db, type OpenOptions} from './open.js'
import {scheduleStore} from './schedules.js'
import {subscriberStore} from './subscribers.js'

/** Everything crier keeps, one module per table family over one connection. */
export interface Store {
  db: Db
  announcements: ReturnType<typeof announcementStore>
  deliveries: ReturnType<typeof deliveryStore>
  subscribers: ReturnType<typeof subscriberStore>
  schedules: ReturnType<typeof scheduleStore>
  /** Runs fn in one BEGIN IMMEDIATE transaction: the write lock is taken up front. */
  transaction<T>(fn: () => T): T
  close(): void
}

export function openStore(path: string, options: OpenOptions = {}): Store {
  const db = openDatabase(path, options)
  return {
    db,
    announcements: announcementStore(db),
    deliveries: deliveryStore(db),
    subscribers: subscriberStore(db),
    schedules: scheduleStore(db),
    transaction: (fn) => db.transaction(fn).immediate(),
    close: () => db.close(),
  }
}
