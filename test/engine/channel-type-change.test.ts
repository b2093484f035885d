import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {loadConfig} from '../../src/config/load.js'
import {resolvePaths} from '../../src/config/paths.js'
import {closeDispatchers, openDispatcher} from '../helpers/dispatchers.js'
import {registerBroadcastTestDriver} from '../helpers/broadcast-test-driver.js'
import {makeWorld, removeWorld, type World} from '../helpers/world.js'

// A channel declared again under the same name as another type of the same kind — a private
// partners webhook turned into a public feed — must not send what was queued for the old one.

const sentBy: Record<string, string[]> = {private: [], public: []}
registerBroadcastTestDriver('test-private-hook', {send: (context) => void sentBy.private!.push(context.deliveryId)})
registerBroadcastTestDriver('test-public-feed', {send: (context) => void sentBy.public!.push(context.deliveryId)})

let world: World | undefined
afterEach(async () => {
  await closeDispatchers()
  if (world) removeWorld(world)
  world = undefined
  sentBy.private = []
  sentBy.public = []
})

describe('a channel whose type changed with work queued for it', () => {
  it('stops, its deliveries left queued and untried, until it is put back as it was', async () => {
    world = makeWorld('channels:\n  partners: {type: test-private-hook}\n')
    const [queued] = world.queue(1, {text: 'Partner-only: staff to muster at Rhyl depot.', headline: 'Muster at Rhyl'})
    expect(world.store.announcements.get(queued!)?.channelTypes).toEqual({partners: 'test-private-hook'})

    writeFileSync(join(world.home, 'config.yaml'), 'channels:\n  partners: {type: test-public-feed}\n')
    const changed = loadConfig(resolvePaths({CRIER_HOME: world.home}))
    const summary = await openDispatcher({store: world.store, config: changed}).run()
    expect(summary.unusableChannels.partners).toBe('it is now a test-public-feed channel, but deliveries waiting on it were queued for a test-private-hook channel; put it back as it was, or cancel the announcements waiting for it')
    expect(sentBy.public).toEqual([])
    expect(world.store.db.prepare('SELECT state, attempts FROM delivery WHERE announcement_id = ?').get(queued)).toEqual({state: 'queued', attempts: 0})

    // Put back as it was: it goes, through the private hook.
    const summaryBack = await openDispatcher({store: world.store, config: world.config}).run()
    expect(summaryBack.unusableChannels).toEqual({})
    expect(sentBy.private).toHaveLength(1)
    expect(sentBy.public).toEqual([])
  })
})
