import {setTimeout as sleep} from 'node:timers/promises'
import {afterEach, describe, expect, it} from 'vitest'
import {z} from 'zod'
import type {Driver} from '../../src/channels/driver.js'
import {driverFor, registerDriver} from '../../src/channels/registry.js'
import {closeDispatchers, openDispatcher} from '../helpers/dispatchers.js'
import {makeWorld, removeWorld, type World} from '../helpers/world.js'

// What must stop a send that has not started: a stop signal that came while the database was
// locked by another process, and an opt-out recorded after the delivery was claimed.

const sent: string[] = []
let sendMs = 20
function recordingDriver(type: string, kind: Driver['kind'], contact?: 'phone'): Driver {
  return {
    type,
    kind,
    config: kind === 'per-recipient' ? z.object({audience: z.string()}) : z.object({}),
    capabilities: {counts: 'characters', threads: false, media: false, idempotent: true, reconcile: false, ...(contact && {contact})},
    render: (announcement) => ({parts: [{label: 'text', text: announcement.variants[0]!.description}], payload: null}),
    send: async (_payload, ctx) => {
      sent.push(ctx.recipient?.phone ?? ctx.deliveryId)
      await sleep(sendMs)
      return {providerId: `ok-${sent.length}`}
    },
    check: async () => ({ok: true, detail: ''}),
  }
}
if (!driverFor('test-stop-plain')) {
  registerDriver(recordingDriver('test-stop-plain', 'broadcast'))
  registerDriver(recordingDriver('test-stop-text', 'per-recipient', 'phone'))
}

let world: World | undefined
afterEach(async () => {
  await closeDispatchers()
  if (world) removeWorld(world)
  world = undefined
  sent.length = 0
  sendMs = 20
})

const phone = (i: number) => `+4477009${String(i).padStart(5, '0')}`

describe('starting nothing new', () => {
  it('after a stop signal that came while a claim waited for the database: what was claimed stays queued', async () => {
    world = makeWorld('channels:\n  partners: {type: test-stop-plain, concurrency: 2}\n')
    world.queue(40)
    const stop = new AbortController()
    const deliveries = world.store.deliveries
    const claimDue = deliveries.claimDue.bind(deliveries)
    let calls = 0
    let sentWhenFreed = -1
    deliveries.claimDue = (params) => {
      if (++calls === 2) {
        // Another process holds the lock; the officer's Ctrl-C arrives meanwhile, heard once this thread is free.
        setTimeout(() => stop.abort(), 0)
        const until = performance.now() + 300
        while (performance.now() < until);
        sentWhenFreed = sent.length
      }
      return claimDue(params)
    }
    const dispatcher = openDispatcher({store: world.store, config: world.config})
    const summary = await dispatcher.run({stop: stop.signal})
    await dispatcher.close()
    expect(calls).toBe(2)
    expect(summary.stoppedBy).toBe('signal')
    expect(sent.length).toBe(sentWhenFreed)
    const states = world.store.db.prepare(`SELECT state, count(*) AS n FROM delivery GROUP BY state`).all()
    expect(states).toEqual([{state: 'queued', n: 40 - sent.length}, {state: 'sent', n: sent.length}])
  })

  it('to a contact opted out after its delivery was claimed: skipped, as one opted out before', async () => {
    world = makeWorld('channels:\n  texts: {type: test-stop-text, audience: residents, concurrency: 2}\n')
    const {store} = world
    store.transaction(() => {
      for (let i = 0; i < 30; i++) store.subscribers.upsert({list: 'residents', name: `R${i}`, email: null, phone: phone(i), language: null, lat: null, lon: null, zone: null, tags: []}, Date.now())
    })
    const [id] = world.queue(1, {channels: ['texts']})
    sendMs = 120
    const dispatcher = openDispatcher({store, config: world.config})
    const running = dispatcher.run()
    while (sent.length < 2) await sleep(5)
    // Claimed with the first batch, its turn some 0.7 s away.
    const stateOf = store.db.prepare(`SELECT d.state, d.last_error AS error FROM delivery d JOIN subscriber s ON CAST(s.id AS TEXT) = d.recipient WHERE s.phone = ? AND d.announcement_id = ?`)
    expect(stateOf.get(phone(12), id)).toMatchObject({state: 'sending'})
    store.subscribers.optOut(phone(12), 'STOP reply', Date.now())
    await running
    await dispatcher.close()
    expect(sent).not.toContain(phone(12))
    expect(sent).toHaveLength(29)
    expect(stateOf.get(phone(12), id)).toEqual({state: 'skipped', error: 'opted out since the broadcast was queued'})
  })
})
