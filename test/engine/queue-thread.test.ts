import {join} from 'node:path'
import Database from 'better-sqlite3'
import {afterEach, describe, expect, it} from 'vitest'
import {type Dispatcher} from '../../src/engine/dispatcher.js'
import {closeDispatchers, openDispatcher} from '../helpers/dispatchers.js'
import {startQueueThread} from '../../src/engine/queue-writer.js'
import {openStore} from '../../src/store/index.js'
import {registerBroadcastTestDriver} from '../helpers/broadcast-test-driver.js'
import {deliveryStateCounts, makeWorld, removeWorld, type World} from '../helpers/world.js'

// A big queue's claims and group commits move to a queue thread with its own connection. The
// promise does not change: a claim's rows are sent only once it has committed, every result is
// written (a failed commit's are written by the next), nothing is sent twice.

const sends: string[] = []
let afterSend: (() => void) | undefined
let beforeSend: (() => Promise<void>) | undefined
registerBroadcastTestDriver('test-threaded', {
  send: async (context) => {
    await beforeSend?.()
    await new Promise((resolve) => setImmediate(resolve))
    sends.push(context.deliveryId)
    afterSend?.()
  },
})

let world: World | undefined
afterEach(async () => {
  await closeDispatchers()
  if (world) removeWorld(world)
  world = undefined
  sends.length = 0
  afterSend = undefined
  beforeSend = undefined
})

const config = 'channels:\n  board: {type: test-threaded, concurrency: 64}\n'

/**
 * The thread takes a moment to start (a busy machine: longer than hundreds of quick sends): from
 * the `after`th send on, sends wait for it (at most 10 s), so its taking over is what is tested.
 */
function awaitThreadAfter(dispatcher: Dispatcher, after: number): void {
  const deadline = Date.now() + 10_000
  beforeSend = async () => {
    while (sends.length >= after && dispatcher.queueRunsOn !== 'queue thread' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

describe('the queue thread', () => {
  it('takes over the claims and commits of a big queue and sends every delivery once', async () => {
    world = makeWorld(config)
    const ids = world.queue(600)
    const dispatcher = openDispatcher({store: world.store, config: world.config})
    expect(dispatcher.queueRunsOn).toBe('here')
    awaitThreadAfter(dispatcher, 100)
    const summary = await dispatcher.run()
    expect(dispatcher.queueRunsOn).toBe('queue thread')
    await dispatcher.close()

    expect(summary.sent).toBe(600)
    expect(sends).toHaveLength(600)
    expect(new Set(sends).size).toBe(600)
    expect(deliveryStateCounts(world.store)).toEqual({sent: 600})
    const receipts = world.store.db.prepare(`SELECT count(*) FROM delivery WHERE receipt_id = 'sent-' || id`).pluck().get()
    expect(receipts).toBe(600)
    expect(world.store.db.prepare('SELECT count(*) FROM attempt').pluck().get()).toBe(600)
    // The thread finished the announcements too, in the audit trail as the same actor.
    const states = world.store.db.prepare(`SELECT state, count(*) AS n FROM announcement WHERE id IN (SELECT value FROM json_each(?)) GROUP BY state`).all(JSON.stringify(ids))
    expect(states).toEqual([{state: 'sent', n: 600}])
    const finishedBy = world.store.db.prepare(`SELECT actor, count(*) AS n FROM audit_event WHERE action = 'send-result' GROUP BY actor`).all()
    expect(finishedBy).toEqual([{actor: 'in-process', n: 600}])
  })

  it('takes over for a channel of few connections too (e-mail: 5), from its first full claim; a small queue stays here', async () => {
    world = makeWorld('channels:\n  board: {type: test-threaded, concurrency: 5}\n')
    world.queue(20)
    const small = openDispatcher({store: world.store, config: world.config})
    expect((await small.run()).sent).toBe(20)
    expect(small.queueRunsOn).toBe('here')
    await small.close()

    world.queue(2_000)
    const big = openDispatcher({store: world.store, config: world.config})
    awaitThreadAfter(big, 1_520)
    const summary = await big.run()
    expect(big.queueRunsOn).toBe('queue thread')
    await big.close()
    expect(summary.sent).toBe(2_000)
    expect(new Set(sends).size).toBe(2_020)
    expect(deliveryStateCounts(world.store)).toEqual({sent: 2_020})
  })

  it('keeps the results of a commit the database refused, writes them with the next, and sends nothing twice', async () => {
    world = makeWorld(config)
    world.queue(600)
    // A short busy timeout, so that another connection's write lock makes the thread's commits fail.
    const store = openStore(join(world.home, 'crier.db'), {busyTimeoutMs: 20})
    const dispatcher = openDispatcher({store, config: world.config})
    const blocker = new Database(join(world.home, 'crier.db'), {timeout: 5000})
    awaitThreadAfter(dispatcher, 100)
    let locked = false
    afterSend = () => {
      // Once the thread has taken over and some are sent, hold the write lock for 300 ms.
      if (locked || dispatcher.queueRunsOn !== 'queue thread' || sends.length < 150) return
      locked = true
      blocker.exec('BEGIN IMMEDIATE')
      setTimeout(() => blocker.exec('COMMIT'), 300)
    }
    const run = dispatcher.run()
    await expect(run).rejects.toThrow(/locked|busy/i)
    expect(locked).toBe(true)
    await new Promise((resolve) => setTimeout(resolve, 400))

    // The next run writes what the refused commits held (and sends whatever was not sent yet).
    await dispatcher.run()
    await dispatcher.close()
    blocker.close()
    store.close()
    expect(new Set(sends).size).toBe(sends.length)
    expect(sends).toHaveLength(600)
    expect(deliveryStateCounts(world.store)).toEqual({sent: 600})
    expect(world.store.db.prepare('SELECT count(*) FROM attempt').pluck().get()).toBe(600)
  })

  it('is not started when the database cannot be opened (the dispatcher carries on here)', async () => {
    const thread = await startQueueThread({path: '/nonexistent/crier/crier.db', options: {}})
    expect(thread).toBeUndefined()
  })
})
