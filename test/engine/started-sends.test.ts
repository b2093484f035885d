import {spawn} from 'node:child_process'
import {existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync} from 'node:fs'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterEach, describe, expect, it} from 'vitest'
import {z} from 'zod'
import type {Driver} from '../../src/channels/driver.js'
import {driverFor, registerDriver} from '../../src/channels/registry.js'
import {closeDispatchers, openDispatcher} from '../helpers/dispatchers.js'
import {newLeaseOwner} from '../../src/engine/lease-owner.js'
import {readStartedSends, StartedSends, startedSendsDir, startKey} from '../../src/engine/started-sends.js'
import {deliveryStateCounts, makeWorld, removeWorld, type World} from '../helpers/world.js'

// A dispatcher records the sends it starts on a channel without idempotency, so that when it
// dies what it had claimed but never started goes back to the queue instead of ending
// `unknown` — and what it had started stays in doubt, never sent twice.

/** Sends that hang until released (while `hold`); each send is recorded by delivery id. */
const hanging: {sends: string[]; release: Array<() => void>; hold: boolean} = {sends: [], release: [], hold: true}
const hangingDriver: Driver = {
  type: 'test-hanging',
  kind: 'broadcast',
  config: z.object({}),
  capabilities: {counts: 'characters', threads: false, media: false, idempotent: false, reconcile: false},
  render: (announcement) => ({parts: [{label: 'text', text: announcement.variants[0]!.description}], payload: null}),
  send: async (_payload, ctx) => {
    hanging.sends.push(ctx.deliveryId)
    if (hanging.hold) await new Promise<void>((resolve) => hanging.release.push(resolve))
    return {providerId: `ok-${ctx.deliveryId}`}
  },
  check: async () => ({ok: true, detail: 'hanging'}),
}
if (!driverFor('test-hanging')) registerDriver(hangingDriver)

/** Like hanging, with a library to load first: load() resolves when `loaded` is called. */
const loading: {loaded: () => void; began: boolean} = {loaded: () => {}, began: false}
if (!driverFor('test-loading')) {
  registerDriver({
    ...hangingDriver,
    type: 'test-loading',
    load: () => {
      loading.began = true
      return new Promise<void>((resolve) => (loading.loaded = resolve))
    },
  })
}

let world: World | undefined
afterEach(async () => {
  for (const release of hanging.release.splice(0)) release()
  hanging.sends = []
  hanging.hold = true
  await closeDispatchers()
  if (world) removeWorld(world)
  world = undefined
})

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !condition(); i++) await sleep(10)
  if (!condition()) throw new Error(`timed out waiting for ${what}`)
}

async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0'])
  await new Promise((resolve) => child.once('exit', resolve))
  return child.pid!
}

function statesById(w: World): Record<string, string> {
  const rows = w.store.db.prepare('SELECT id, state FROM delivery').all() as Array<{id: string; state: string}>
  return Object.fromEntries(rows.map((row) => [row.id, row.state]))
}

describe('a dispatcher that dies holding claims on a channel without idempotency', () => {
  it('leaves in doubt only the sends it started; what it claimed and never started is sent by the next one', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-hanging, concurrency: 2}\n`)
    world.queue(6)
    const stopA = new AbortController()
    const first = openDispatcher({store: world.store, config: world.config})
    const running = first.run({abort: stopA.signal})
    // Two in flight, the other four claimed ahead.
    await waitFor('two sends in flight', () => hanging.sends.length === 2)
    expect(deliveryStateCounts(world.store)).toEqual({sending: 6})
    const started = [...hanging.sends]

    // The first dispatcher is gone as far as the queue can tell: its leases have run out.
    world.store.db.prepare(`UPDATE delivery SET lease_until = ? WHERE state = 'sending'`).run(Date.now() - 1)
    hanging.hold = false
    const second = openDispatcher({store: world.store, config: world.config})
    const summary = await second.run()
    await second.close()

    expect(summary.requeued).toBe(4)
    expect(summary.unknown).toBe(2)
    const states = statesById(world)
    for (const id of started) expect(states[id]).toBe('unknown')
    // Never sent twice: the second sent exactly the four the first had not started.
    expect(new Set(hanging.sends).size).toBe(6)
    expect(Object.values(states).filter((state) => state === 'sent')).toHaveLength(4)
    // Requeued without counting an attempt: it made none.
    const attempts = world.store.db.prepare(`SELECT attempts FROM delivery WHERE state = 'sent'`).pluck().all()
    expect(attempts).toEqual([1, 1, 1, 1])

    stopA.abort()
    for (const release of hanging.release.splice(0)) release()
    await running
    await first.close()
  })

  it('a claim it never started that was cancelled since ends cancelled, not unknown', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-hanging, concurrency: 1}\n`)
    world.queue(2)
    const stop = new AbortController()
    const first = openDispatcher({store: world.store, config: world.config})
    const running = first.run({abort: stop.signal})
    await waitFor('one send in flight', () => hanging.sends.length === 1)
    // The other was claimed ahead, not started.
    const waitingId = world.store.db.prepare(`SELECT id FROM delivery WHERE state = 'sending' AND id <> ?`).pluck().get(hanging.sends[0]) as string
    world.store.db.prepare(`UPDATE delivery SET stop_reason = 'cancelled by officer', lease_until = ? WHERE state = 'sending'`).run(Date.now() - 1)
    const recovery = openDispatcher({store: world.store, config: world.config})
    await recovery.run()
    await recovery.close()
    expect(statesById(world)[waitingId]).toBe('cancelled')
    expect(statesById(world)[hanging.sends[0]!]).toBe('unknown')
    stop.abort()
    for (const release of hanging.release.splice(0)) release()
    await running
    await first.close()
  })
})

describe('the record of starts', () => {
  it('is written only once what the sends need is loaded: no send is recorded while its library is still importing', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-loading, concurrency: 2}\n`)
    world.queue(2)
    hanging.hold = false
    const dispatcher = openDispatcher({store: world.store, config: world.config})
    const running = dispatcher.run()
    await waitFor('the claim and the load', () => loading.began && deliveryStateCounts(world!.store).sending === 2)
    const file = join(startedSendsDir(join(world.home, 'crier.db'))!, encodeURIComponent(dispatcher.owner))
    await sleep(30)
    expect(readFileSync(file, 'utf8')).toBe('')
    expect(hanging.sends).toEqual([])
    loading.loaded()
    await running
    await dispatcher.close()
    expect(hanging.sends).toHaveLength(2)
    expect(deliveryStateCounts(world.store)).toEqual({sent: 2})
  })

  it('is a private file beside the database, emptied when nothing is held, removed when the dispatcher closes holding nothing', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-hanging, concurrency: 2}\n`)
    world.queue(2)
    const dir = startedSendsDir(join(world.home, 'crier.db'))!
    const dispatcher = openDispatcher({store: world.store, config: world.config})
    const running = dispatcher.run()
    await waitFor('two sends in flight', () => hanging.sends.length === 2)
    const file = join(dir, encodeURIComponent(dispatcher.owner))
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean).sort()).toEqual(hanging.sends.map((id) => startKey(id, 1)).sort())
    for (const release of hanging.release.splice(0)) release()
    await running
    // Idle with every result committed: emptied.
    expect(readFileSync(file, 'utf8')).toBe('')
    await dispatcher.close()
    expect(existsSync(file)).toBe(false)
  })

  it('is not written for a channel whose provider deduplicates', async () => {
    world = makeWorld(`channels:\n  feed: {type: feed, dir: ./public}\n`)
    world.queue(1)
    const dispatcher = openDispatcher({store: world.store, config: world.config})
    await dispatcher.run()
    await dispatcher.close()
    expect(existsSync(startedSendsDir(join(world.home, 'crier.db'))!)).toBe(false)
  })

  it('is trusted only from a process of this host and this boot, and only where it exists', () => {
    world = makeWorld(`channels:\n  plain: {type: test-hanging}\n`)
    const dir = startedSendsDir(join(world.home, 'crier.db'))
    const owner = newLeaseOwner()
    const sends = new StartedSends(dir, owner)
    sends.open()
    sends.record([{id: 'A', attempts: 1}])
    expect(readStartedSends(dir, owner)).toEqual(new Set(['A 1']))
    // Nothing recorded by a crier without the record (or on another machine): nothing known.
    expect(readStartedSends(dir, newLeaseOwner())).toBeUndefined()
    const [host, pid, tag, namespace] = owner.split(':')
    if (namespace) {
      // Another boot: a power cut may have lost lines written without a sync.
      const otherBoot = [host, pid, tag, `ffffffff-${namespace.split('-')[1]}`].join(':')
      mkdirSync(dir!, {recursive: true})
      writeFileSync(join(dir!, encodeURIComponent(otherBoot)), 'A 1\n')
      expect(readStartedSends(dir, otherBoot)).toBeUndefined()
    }
    expect(readStartedSends(dir, `elsewhere.example:${pid}:${tag}:${namespace ?? ''}`)).toBeUndefined()
    expect(readStartedSends(startedSendsDir(':memory:'), owner)).toBeUndefined()
    sends.close(true)
  })

  it('of a dispatcher that died is removed once what it held is settled', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-hanging}\n`)
    world.queue(1)
    const dir = startedSendsDir(join(world.home, 'crier.db'))!
    const namespace = newLeaseOwner().split(':')[3]
    const gone = [hostname(), await exitedPid(), 'deadbeef', namespace].filter((part) => part !== undefined).join(':')
    const record = new StartedSends(dir, gone)
    record.open()
    record.close(false)
    world.store.db.prepare(`UPDATE delivery SET state = 'sending', lease_owner = ?, lease_until = ?, attempts = 1`).run(gone, Date.now() + 60_000)
    const dispatcher = openDispatcher({store: world.store, config: world.config})
    const running = dispatcher.run()
    // Nothing in its record: the claim never started, so it is simply sent.
    await waitFor('the send', () => hanging.sends.length === 1)
    for (const release of hanging.release.splice(0)) release()
    await running
    await dispatcher.close()
    expect(deliveryStateCounts(world.store)).toEqual({sent: 1})
    expect(readdirSync(dir)).toEqual([])
  })
})
