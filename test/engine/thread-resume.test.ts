import {afterEach, describe, expect, it} from 'vitest'
import {z} from 'zod'
import {driverFor, registerDriver} from '../../src/channels/registry.js'
import {TransientSendError} from '../../src/channels/errors.js'
import type {Driver} from '../../src/channels/driver.js'
import {postThread} from '../../src/channels/thread.js'
import {closeDispatchers, openDispatcher} from '../helpers/dispatchers.js'
import {deliveryStateCounts, makeWorld, removeWorld, type World} from '../helpers/world.js'

// A thread driver whose posts are recorded in memory, failing where a test says: the engine
// must keep each posted part so the next attempt — in this process or another — resumes there.
const network = {posts: [] as Array<{text: string; replyTo?: string}>, failAt: new Set<number>()}

const threadDriver: Driver<Record<string, unknown>, string[]> = {
  type: 'test-thread',
  kind: 'broadcast',
  config: z.object({}),
  capabilities: {counts: 'characters', threads: true, media: false, idempotent: false, reconcile: false},
  render: () => {
    const posts = ['part one', 'part two', 'part three', 'part four']
    return {parts: posts.map((text, i) => ({label: `post ${i + 1}/4`, text})), payload: posts}
  },
  send: (posts, context) =>
    postThread(posts, context, async (text, index, replyTo) => {
      if (network.failAt.delete(network.posts.length)) throw new TransientSendError('HTTP 503')
      network.posts.push({text, ...(replyTo && {replyTo: replyTo.providerId})})
      return {providerId: `post-${index}`, url: `https://social.example/post-${index}`}
    }),
  check: async () => ({ok: true, detail: 'in memory'}),
}
if (!driverFor('test-thread')) registerDriver(threadDriver)

let world: World | undefined
afterEach(async () => {
  await closeDispatchers()
  if (world) removeWorld(world)
  world = undefined
  network.posts = []
  network.failAt.clear()
})

describe('threads in the engine', () => {
  it('a thread whose third post fails is retried from the third post, never reposted from the first', async () => {
    world = makeWorld('channels:\n  social: {type: test-thread, retryBase: 10ms, retryCap: 20ms}\n')
    const [id] = world.queue(1)
    network.failAt.add(2)
    await openDispatcher({store: world.store, config: world.config}).run()
    expect(network.posts).toEqual([
      {text: 'part one'},
      {text: 'part two', replyTo: 'post-0'},
      {text: 'part three', replyTo: 'post-1'},
      {text: 'part four', replyTo: 'post-2'},
    ])
    expect(deliveryStateCounts(world.store)).toEqual({sent: 1})
    const delivery = world.store.deliveries.broadcastDeliveries(id!)[0]!
    expect(delivery.attempts).toBe(2)
    expect(delivery.receiptId).toBe('post-0')
    expect(world.store.deliveries.postedParts(delivery.id).map((part) => part.providerId)).toEqual(['post-0', 'post-1', 'post-2', 'post-3'])
  })

  it('the posted parts outlive the process: a later run resumes where the last one gave up', async () => {
    world = makeWorld('channels:\n  social: {type: test-thread, maxAttempts: 1}\n')
    const [id] = world.queue(1)
    network.failAt.add(1)
    await openDispatcher({store: world.store, config: world.config}).run()
    const delivery = world.store.deliveries.broadcastDeliveries(id!)[0]!
    expect(delivery.state).toBe('dead')
    expect(world.store.deliveries.postedParts(delivery.id)).toEqual([{index: 0, providerId: 'post-0', url: 'https://social.example/post-0'}])

    // An officer requeues it (as `r` in the live view will); a new dispatcher picks up after part 1.
    world.store.db.prepare(`UPDATE delivery SET state = 'queued', attempts = 0, due_at = 0 WHERE id = ?`).run(delivery.id)
    await openDispatcher({store: world.store, config: world.config}).run()
    expect(network.posts.map((post) => post.text)).toEqual(['part one', 'part two', 'part three', 'part four'])
    expect(network.posts[1]).toEqual({text: 'part two', replyTo: 'post-0'})
  })
})
