import {afterEach, describe, expect, it} from 'vitest'
import {newId} from '../../src/core/ids.js'
import {closeDispatchers, openDispatcher} from '../helpers/dispatchers.js'
import {registerBroadcastTestDriver} from '../helpers/broadcast-test-driver.js'
import {makeWorld, removeWorld, type World} from '../helpers/world.js'

// How much a dispatcher holds claimed is what a crash leaves to the next process. Where that one
// can tell what never started — an idempotent channel (sent again, deduplicated by the
// provider), or any other whose starts are recorded beside the database — a channel may hold up
// to 8× its concurrency when it sends fast. Where it cannot (no record: a database in memory),
// everything claimed would end `unknown`: at most twice the concurrency, however small.

let world: World | undefined
let mostSending = 0
afterEach(async () => {
  await closeDispatchers()
  if (world) removeWorld(world)
  world = undefined
  mostSending = 0
})

for (const idempotent of [false, true]) {
  registerBroadcastTestDriver(`test-claim-size-${idempotent ? 'idempotent' : 'once'}`, {
    idempotent,
    send: async () => {
      mostSending = Math.max(mostSending, world!.store.db.prepare(`SELECT count(*) FROM delivery WHERE state = 'sending'`).pluck().get() as number)
      await new Promise((resolve) => setTimeout(resolve, 1))
    },
  })
}

/** One announcement and `count` deliveries on channel `board` (concurrency 16). */
function queueOnBoard(type: string, count: number, concurrency = 16): void {
  world = makeWorld(`channels:\n  board: {type: ${type}, concurrency: ${concurrency}}\n`)
  const [id] = world.queue(1)
  const now = Date.now()
  world.store.transaction(() => {
    for (let i = 1; i < count; i++) world!.store.deliveries.insert({id: newId(now), announcementId: id!, channel: 'board', recipient: null, priority: 0, dueAt: now, expiresAt: null, maxAttempts: 8}, now)
  })
}

/** Queues `count` on board and sends them all with one dispatcher. */
async function sendAllOnBoard(type: string, count: number, concurrency?: number, {unrecorded = false} = {}): Promise<void> {
  queueOnBoard(type, count, concurrency)
  // As a store assembled by hand, with no file to record starts beside.
  if (unrecorded) world!.store.origin = undefined
  const dispatcher = openDispatcher({store: world!.store, config: world!.config})
  expect((await dispatcher.run()).sent).toBe(count)
  await dispatcher.close()
}

describe('how much a dispatcher holds claimed', () => {
  it('stays within twice the concurrency on a channel without idempotency whose starts cannot be recorded', async () => {
    await sendAllOnBoard('test-claim-size-once', 3000, 16, {unrecorded: true})
    expect(mostSending).toBeGreaterThan(16)
    expect(mostSending).toBeLessThanOrEqual(32)
  })

  it('twice a small concurrency too: a crash there leaves no more than that in doubt (unknown, never resent)', async () => {
    await sendAllOnBoard('test-claim-size-once', 200, 4, {unrecorded: true})
    expect(mostSending).toBeGreaterThan(4)
    expect(mostSending).toBeLessThanOrEqual(8)
  })

  for (const [kind, type] of [
    ['an idempotent channel', 'test-claim-size-idempotent'],
    ['a channel without idempotency whose starts are recorded', 'test-claim-size-once'],
  ] as const) {
    it(`grows with the rate, up to 8× the concurrency, on ${kind} that sends fast`, async () => {
      await sendAllOnBoard(type, 3000)
      expect(mostSending).toBeGreaterThan(32)
      expect(mostSending).toBeLessThanOrEqual(128)
    })
  }
})
