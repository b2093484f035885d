import {afterEach, describe, expect, it} from 'vitest'
import {z} from 'zod'
import {driverFor, registerDriver} from '../../src/channels/registry.js'
import {newId} from '../../src/core/ids.js'
import {Dispatcher} from '../../src/engine/dispatcher.js'
import {makeWorld, removeWorld, type World} from '../helpers/world.js'

// How much a dispatcher holds claimed is what a crash leaves in doubt. A channel whose sends are
// not idempotent (in doubt: `unknown`) holds at most twice its concurrency (at least 32); an
// idempotent one (in doubt: sent again, deduplicated by the provider) may hold up to 8× when it
// sends fast.

let world: World | undefined
let mostSending = 0
afterEach(() => {
  if (world) removeWorld(world)
  world = undefined
  mostSending = 0
})

for (const idempotent of [false, true]) {
  const type = `test-claim-size-${idempotent ? 'idempotent' : 'once'}`
  if (!driverFor(type)) {
    registerDriver({
      type,
      kind: 'broadcast',
      config: z.object({}),
      capabilities: {counts: 'characters', threads: false, media: false, idempotent, reconcile: false},
      render: (announcement) => ({parts: [{label: 'text', text: announcement.variants[0]!.description}], payload: null}),
      send: async (_payload, context) => {
        mostSending = Math.max(mostSending, world!.store.db.prepare(`SELECT count(*) FROM delivery WHERE state = 'sending'`).pluck().get() as number)
        await new Promise((resolve) => setTimeout(resolve, 1))
        return {providerId: `sent-${context.deliveryId}`}
      },
      check: async () => ({ok: true, detail: 'claim size'}),
    })
  }
}

/** One announcement and `count` deliveries on channel `board` (concurrency 16). */
function queueOnBoard(type: string, count: number): void {
  world = makeWorld(`channels:\n  board: {type: ${type}, concurrency: 16}\n`)
  const [id] = world.queue(1)
  const now = Date.now()
  world.store.transaction(() => {
    for (let i = 1; i < count; i++) world!.store.deliveries.insert({id: newId(now), announcementId: id!, channel: 'board', recipient: null, priority: 0, dueAt: now, expiresAt: null, maxAttempts: 8}, now)
  })
}

describe('how much a dispatcher holds claimed', () => {
  it('stays within twice the concurrency (at least 32) on a channel whose sends are not idempotent', async () => {
    queueOnBoard('test-claim-size-once', 3000)
    const dispatcher = new Dispatcher({store: world!.store, config: world!.config})
    expect((await dispatcher.run()).sent).toBe(3000)
    await dispatcher.close()
    expect(mostSending).toBeGreaterThan(16)
    expect(mostSending).toBeLessThanOrEqual(32)
  })

  it('grows with the rate, up to 8× the concurrency, on an idempotent channel that sends fast', async () => {
    queueOnBoard('test-claim-size-idempotent', 3000)
    const dispatcher = new Dispatcher({store: world!.store, config: world!.config})
    expect((await dispatcher.run()).sent).toBe(3000)
    await dispatcher.close()
    expect(mostSending).toBeGreaterThan(32)
    expect(mostSending).toBeLessThanOrEqual(128)
  })
})
