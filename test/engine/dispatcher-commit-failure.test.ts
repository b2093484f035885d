import {afterEach, describe, expect, it} from 'vitest'
import {type Dispatcher} from '../../src/engine/dispatcher.js'
import {closeDispatchers, openDispatcher} from '../helpers/dispatchers.js'
import type {Store} from '../../src/store/index.js'
import {registerBroadcastTestDriver} from '../helpers/broadcast-test-driver.js'
import {deliveryStateCounts, makeWorld, removeWorld, type World} from '../helpers/world.js'

// A commit that fails (the database busy past its timeout, a full disk) rolls back what the
// dispatcher meant to write. A claim rolled back must not be sent; results rolled back must
// be written by the next commit, not forgotten (a forgotten result leaves a sent delivery
// looking in doubt, and a non-idempotent one then ends `unknown`).

const sends: string[] = []
registerBroadcastTestDriver('test-counting', {send: (context) => void sends.push(context.deliveryId)})

let world: World | undefined
afterEach(async () => {
  await closeDispatchers()
  if (world) removeWorld(world)
  world = undefined
  sends.length = 0
})

/**
 * The world's store, whose first transaction that claims (or records results) fails after doing
 * its writes, so that they roll back.
 */
function failingOnce(store: Store, what: 'claimDue' | 'recordResults'): Store {
  const deliveries = Object.create(store.deliveries) as Store['deliveries']
  let touched = false
  let failed = false
  deliveries[what] = ((...args: never[]) => {
    touched = true
    return (store.deliveries[what] as (...args: never[]) => unknown)(...args)
  }) as never
  const wrapped = Object.create(store) as Store
  Object.defineProperty(wrapped, 'deliveries', {value: deliveries})
  wrapped.transaction = <T>(fn: () => T): T =>
    store.transaction(() => {
      touched = false
      const value = fn()
      if (touched && !failed) {
        failed = true
        throw new Error('SQLITE_BUSY: database is locked')
      }
      return value
    })
  return wrapped
}

/** Six deliveries on a non-idempotent channel, and a first run that ends with the failed commit. */
async function firstRunFailing(what: 'claimDue' | 'recordResults'): Promise<{dispatcher: Dispatcher; store: Store}> {
  world = makeWorld('channels:\n  board: {type: test-counting, concurrency: 4}\n')
  world.queue(6)
  const dispatcher = openDispatcher({store: failingOnce(world.store, what), config: world.config})
  await expect(dispatcher.run()).rejects.toThrow('SQLITE_BUSY')
  return {dispatcher, store: world.store}
}

describe('dispatcher when a commit fails', () => {
  it('sends nothing from a claim that rolled back, and sends everything once on the next run', async () => {
    const {dispatcher, store} = await firstRunFailing('claimDue')
    expect(sends).toEqual([])
    expect(deliveryStateCounts(store)).toEqual({queued: 6})

    await dispatcher.run()
    expect(sends).toHaveLength(6)
    expect(new Set(sends).size).toBe(6)
    expect(deliveryStateCounts(store)).toEqual({sent: 6})
  })

  it('keeps the results of sends whose commit rolled back, writes them with the next commit, and sends nothing twice', async () => {
    const {dispatcher, store} = await firstRunFailing('recordResults')
    // The run ends with the error, but its last commit wrote the results the failed one lost.
    expect(deliveryStateCounts(store)).toEqual({sent: 6})

    await dispatcher.run()
    expect(sends).toHaveLength(6)
    expect(new Set(sends).size).toBe(6)
    const receipts = store.db.prepare(`SELECT count(*) FROM delivery WHERE receipt_id = 'sent-' || id`).pluck().get()
    expect(receipts).toBe(6)
    const attempts = store.db.prepare('SELECT count(*) FROM attempt').pluck().get()
    expect(attempts).toBe(6)
  })
})
