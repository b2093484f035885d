import {join} from 'node:path'
import {afterEach, describe, expect, it, vi} from 'vitest'
import {z} from 'zod'
import {registerDriver, driverFor} from '../../src/channels/registry.js'
import {ChannelUnusableError, InDoubtSendError, NotSentError, PermanentSendError, RateLimitedError, TransientSendError} from '../../src/channels/errors.js'
import type {Driver} from '../../src/channels/driver.js'
import {type Dispatcher, rateLimitPauseMs, type DispatchEvent} from '../../src/engine/dispatcher.js'
import {closeDispatchers, openDispatcher} from '../helpers/dispatchers.js'
import {finishAnnouncementsIfDone} from '../../src/engine/finish.js'
import {alwaysOk, faultMix, startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {openStore, type Store} from '../../src/store/index.js'
import {deliveryStateCounts, makeWorld, removeWorld, type World} from '../helpers/world.js'

// A scriptable in-memory driver for engine behaviour that no provider fake needs: what it
// throws is decided per test. Its sends are recorded by delivery id.
type Script = (deliveryId: string, attempt: number) => Promise<{providerId: string}>
const scripted: {script: Script; sends: string[]; reconciled: Map<string, boolean>} = {
  script: async () => ({providerId: 'ok'}),
  sends: [],
  reconciled: new Map(),
}
function scriptedDriver(type: string, capabilities: Partial<Driver['capabilities']>): Driver {
  return {
    type,
    kind: 'broadcast',
    config: z.object({}),
    capabilities: {counts: 'characters', threads: false, media: false, idempotent: false, reconcile: false, ...capabilities},
    render: (announcement) => ({parts: [{label: 'text', text: announcement.variants[0]!.description}], payload: null}),
    send: async (_payload, ctx) => {
      scripted.sends.push(ctx.deliveryId)
      return scripted.script(ctx.deliveryId, scripted.sends.filter((id) => id === ctx.deliveryId).length)
    },
    check: async () => ({ok: true, detail: 'scripted'}),
    reconcile: capabilities.reconcile
      ? async (deliveryId) => {
          const found = scripted.reconciled.get(deliveryId)
          if (found === undefined) throw new Error('lookup failed')
          return found ? {providerId: `found-${deliveryId}`} : undefined
        }
      : undefined,
  }
}
if (!driverFor('test-plain')) {
  registerDriver(scriptedDriver('test-plain', {}))
  registerDriver(scriptedDriver('test-idempotent', {idempotent: true}))
  registerDriver(scriptedDriver('test-forgetful', {idempotent: true, idempotencyWindowMs: 3_600_000}))
  registerDriver(scriptedDriver('test-reconciling', {reconcile: true}))
}

let world: World | undefined
let fake: ProviderFake | undefined
afterEach(async () => {
  await closeDispatchers()
  if (world) removeWorld(world)
  world = undefined
  await fake?.close()
  fake = undefined
  scripted.script = async () => ({providerId: 'ok'})
  scripted.sends = []
  scripted.reconciled = new Map()
})

const fastRetries = 'retryBase: 10ms, retryCap: 50ms'

describe('dispatcher', () => {
  it('sends every queued delivery once and marks the announcements sent', async () => {
    fake = await startProviderFake({plan: alwaysOk()})
    world = makeWorld(`channels:\n  partners: {type: webhook, url: "${fake.url}/hook", concurrency: 8}\n`)
    const ids = world.queue(50)
    const summary = await openDispatcher({store: world.store, config: world.config}).run()
    expect(summary.sent).toBe(50)
    expect(fake.requests.length).toBe(50)
    expect(fake.requests.distinct('idempotency-key').size).toBe(50)
    expect(deliveryStateCounts(world.store)).toEqual({sent: 50})
    for (const id of ids) expect(world.store.announcements.get(id)!.state).toBe('sent')
    const attempts = world.store.db.prepare('SELECT count(*) FROM attempt').pluck().get()
    expect(attempts).toBe(50)
  })

  it('retries 503s with backoff until sent, recording every attempt', async () => {
    fake = await startProviderFake({plan: faultMix({seed: 7, fail503Rate: 0.5})})
    world = makeWorld(`channels:\n  partners: {type: webhook, url: "${fake.url}", concurrency: 4, maxAttempts: 20, ${fastRetries}}\n`)
    world.queue(40)
    await openDispatcher({store: world.store, config: world.config}).run()
    expect(deliveryStateCounts(world.store)).toEqual({sent: 40})
    const failedAttempts = world.store.db.prepare(`SELECT count(*) FROM attempt WHERE outcome = 'transient'`).pluck().get() as number
    expect(failedAttempts).toBe(fake.requests.filter((r) => r.status === 503).length)
    expect(failedAttempts).toBeGreaterThan(0)
    const answered200 = fake.requests.filter((r) => r.status === 200).map((r) => r.headers['idempotency-key'])
    expect(new Set(answered200).size).toBe(answered200.length)
  })

  it('gives up after maxAttempts and records the delivery dead with the last error', async () => {
    fake = await startProviderFake({plan: () => ({status: 503, body: 'upstream down'})})
    world = makeWorld(`channels:\n  partners: {type: webhook, url: "${fake.url}", maxAttempts: 3, ${fastRetries}}\n`)
    const [id] = world.queue(1)
    const summary = await openDispatcher({store: world.store, config: world.config}).run()
    expect(summary.dead).toBe(1)
    expect(fake.requests.length).toBe(3)
    const delivery = world.store.deliveries.broadcastDeliveries(id!)[0]!
    expect(delivery.state).toBe('dead')
    expect(delivery.lastError).toMatch(/gave up after 3 attempts: HTTP 503/)
    expect(world.store.announcements.get(id!)!.state).toBe('sent_with_failures')
  })

  it('marks a permanent failure dead at once with the provider reason', async () => {
    fake = await startProviderFake({plan: () => ({status: 400, body: 'headline too long\nmore detail'})})
    world = makeWorld(`channels:\n  partners: {type: webhook, url: "${fake.url}", ${fastRetries}}\n`)
    const [id] = world.queue(1)
    await openDispatcher({store: world.store, config: world.config}).run()
    expect(fake.requests.length).toBe(1)
    const delivery = world.store.deliveries.broadcastDeliveries(id!)[0]!
    expect(delivery.state).toBe('dead')
    expect(delivery.lastError).toBe('HTTP 400: headline too long')
  })

  it('pauses the whole channel on 429 until Retry-After has passed', async () => {
    fake = await startProviderFake({plan: faultMix({seed: 1, fail503Rate: 0, rateLimitAt: [3], retryAfterSeconds: 1})})
    world = makeWorld(`channels:\n  partners: {type: webhook, url: "${fake.url}", concurrency: 1, ${fastRetries}}\n`)
    world.queue(10)
    await openDispatcher({store: world.store, config: world.config}).run()
    expect(deliveryStateCounts(world.store)).toEqual({sent: 10})
    const limited = fake.requests.find((r) => r.status === 429)!
    const next = fake.requests[fake.requests.indexOf(limited) + 1]!
    expect(next.receivedAt - limited.receivedAt).toBeGreaterThanOrEqual(990)
    const pause = world.store.db.prepare('SELECT paused_until FROM channel_pause WHERE channel = ?').pluck().get('partners') as number
    expect(pause).toBeGreaterThanOrEqual(limited.receivedAt + 990)
    // The rate-limited try does not count against maxAttempts.
    const attemptsOfLimited = world.store.db.prepare(`SELECT attempts FROM delivery WHERE id = ?`).pluck().get(limited.headers['idempotency-key']) as number
    expect(attemptsOfLimited).toBe(1)
  })

  it('claims Extreme/Immediate work before routine work', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-plain, concurrency: 1}\n`)
    const routine = world.queue(5, {severity: 'Minor'})
    world.ctx.config.policy.approvals.bySeverity = {}
    const [urgent] = world.queue(1, {severity: 'Extreme', urgency: 'Immediate'})
    await openDispatcher({store: world.store, config: world.config}).run()
    const order = scripted.sends.map((deliveryId) => world!.store.db.prepare('SELECT announcement_id FROM delivery WHERE id = ?').pluck().get(deliveryId))
    expect(order[0]).toBe(urgent)
    expect(order.slice(1).sort()).toEqual([...routine].sort())
  })

  it('a run for one announcement (a waiting broadcast) sends its deliveries only, not a backlog queued before them, and returns when they are done', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-plain, concurrency: 1}\n  other: {type: test-idempotent, concurrency: 1}\n`)
    // Queued earlier, at the same priority: a plain run would send these first.
    const backlog = world.queue(20)
    const [mine] = world.queue(1)
    const summary = await openDispatcher({store: world.store, config: world.config}).run({announcementId: mine})
    expect(summary).toMatchObject({sent: 2, stoppedBy: 'done'})
    const sentFor = scripted.sends.map((deliveryId) => world!.store.db.prepare('SELECT announcement_id FROM delivery WHERE id = ?').pluck().get(deliveryId))
    expect(sentFor).toEqual([mine, mine])
    // The backlog waits, untouched, for crier run or a worker.
    const backlogStates = world.store.db.prepare(`SELECT state, count(*) AS n FROM delivery WHERE announcement_id IN (${backlog.map(() => '?').join(',')}) GROUP BY state`).all(...backlog)
    expect(backlogStates).toEqual([{state: 'queued', n: 40}])
    expect(world.store.db.prepare(`SELECT sum(attempts) FROM delivery WHERE announcement_id != ?`).pluck().get(mine)).toBe(0)
  })

  it('never sends after the announcement expires: a failing delivery ends expired', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-plain, maxAttempts: 100, retryBase: 100ms, retryCap: 100ms}\n`)
    scripted.script = async () => {
      throw new TransientSendError('HTTP 503')
    }
    const [id] = world.queue(1, {expires: '+1s'})
    const summary = await openDispatcher({store: world.store, config: world.config}).run()
    expect(summary.expired).toBe(1)
    const delivery = world.store.deliveries.broadcastDeliveries(id!)[0]!
    expect(delivery.state).toBe('expired')
    // It reached no one: the announcement expired, it was not "sent".
    expect(world.store.announcements.get(id!)!.state).toBe('expired')
    const expiresAt = world.store.announcements.get(id!)!.expiresAt!
    // Tries only: a delivery found expired as it was about to go records an 'expired' row then, not a send.
    const lastAttempt = world.store.db.prepare(`SELECT max(started_at) FROM attempt WHERE outcome <> 'expired'`).pluck().get() as number
    expect(lastAttempt).toBeLessThan(expiresAt)
  })

  it('treats an unexpected driver error as transient, never losing the delivery', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-plain, ${fastRetries}}\n`)
    let calls = 0
    scripted.script = async () => {
      if (++calls === 1) throw new TypeError('driver bug')
      return {providerId: 'ok'}
    }
    world.queue(1)
    await openDispatcher({store: world.store, config: world.config}).run()
    expect(deliveryStateCounts(world.store)).toEqual({sent: 1})
    const errors = world.store.db.prepare('SELECT error FROM attempt ORDER BY id').pluck().all()
    expect(errors).toEqual(['unexpected error: driver bug', null])
  })

  it('rate-limited errors from a driver pause only that channel', async () => {
    world = makeWorld(`channels:\n  limited: {type: test-plain, concurrency: 1}\n  other: {type: test-idempotent, concurrency: 1}\n`)
    let limitedOnce = false
    scripted.script = async (deliveryId) => {
      const channel = world!.store.db.prepare('SELECT channel FROM delivery WHERE id = ?').pluck().get(deliveryId)
      if (channel === 'limited' && !limitedOnce) {
        limitedOnce = true
        throw new RateLimitedError('429 from provider', 600)
      }
      return {providerId: 'ok'}
    }
    const started = Date.now()
    world.queue(3)
    await openDispatcher({store: world.store, config: world.config}).run()
    expect(deliveryStateCounts(world.store)).toEqual({sent: 6})
    const otherDone = world.store.db.prepare(`SELECT max(finished_at) FROM delivery WHERE channel = 'other'`).pluck().get() as number
    expect(otherDone - started).toBeLessThan(600)
  })

  it('pauses at least a second on a 429 that asks for no wait, doubling while 429s come in a row', async () => {
    expect([1, 2, 3, 4, 8, 20].map((n) => rateLimitPauseMs(0, n))).toEqual([1000, 2000, 4000, 8000, 60_000, 60_000])
    expect(rateLimitPauseMs(30_000, 1)).toBe(30_000)
    expect(rateLimitPauseMs(86_400_000, 1)).toBe(3_600_000)
    world = makeWorld(`channels:\n  limited: {type: test-plain, concurrency: 1}\n`)
    scripted.script = async () => {
      throw new RateLimitedError('HTTP 429 (Retry-After: 0)', 0)
    }
    world.queue(1)
    await openDispatcher({store: world.store, config: world.config}).run({deadline: Date.now() + 3500})
    // At 0, 1 s and 3 s: not hundreds.
    expect(scripted.sends.length).toBeGreaterThanOrEqual(2)
    expect(scripted.sends.length).toBeLessThanOrEqual(3)
  })

  it('records PermanentSendError from any driver as dead', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-plain}\n`)
    scripted.script = async () => {
      throw new PermanentSendError('token revoked')
    }
    world.queue(2)
    const summary = await openDispatcher({store: world.store, config: world.config}).run()
    expect(summary.dead).toBe(2)
    expect(deliveryStateCounts(world.store)).toEqual({dead: 2})
  })
})

describe('leases under slow sends', () => {
  it('never starts a send whose lease could run out before it ends: renews them, and leaves one another process took over to it', async () => {
    world = makeWorld(`channels:\n  idem: {type: test-idempotent, concurrency: 1, timeout: 10s}\n`)
    world.queue(12)
    let clock = Date.now()
    const leaseOf = world.store.db.prepare('SELECT lease_until AS until, lease_owner AS owner FROM delivery WHERE id = ?')
    const lastClaimed = world.store.db.prepare(`SELECT id FROM delivery WHERE state = 'sending' ORDER BY rowid DESC LIMIT 1`).pluck()
    let takenOver = ''
    const shortLeases: string[] = []
    scripted.script = async (deliveryId) => {
      const lease = leaseOf.get(deliveryId) as {until: number}
      if (lease.until < clock + 10_000) shortLeases.push(deliveryId)
      // The partner takes 9 s to answer: twelve of them outlast the 60 s lease of one claim.
      clock += 9000
      // Meanwhile another process finds the last one's lease run out and takes it over.
      if (scripted.sends.length === 1) {
        takenOver = lastClaimed.get() as string
        world!.store.db.prepare(`UPDATE delivery SET lease_owner = 'elsewhere:1:x', lease_until = ? WHERE id = ?`).run(clock + 86_400_000, takenOver)
      }
      return {providerId: 'ok'}
    }
    const dispatcher = openDispatcher({store: world.store, config: world.config, now: () => clock})
    await dispatcher.run()
    expect(shortLeases).toEqual([])
    expect(scripted.sends).toHaveLength(11)
    expect(new Set(scripted.sends).size).toBe(11)
    expect(scripted.sends).not.toContain(takenOver)
    expect(leaseOf.get(takenOver)).toMatchObject({owner: 'elsewhere:1:x'})
    expect(deliveryStateCounts(world.store)).toEqual({sent: 11, sending: 1})
  })
})

describe('a plain run', () => {
  it('exits once nothing is due soon, leaving a channel paused for an hour to the next run', async () => {
    world = makeWorld(`channels:\n  idem: {type: test-idempotent}\n`)
    world.queue(2)
    world.store.transaction(() => world!.store.deliveries.pauseChannel('idem', Date.now() + 3_600_000, 'HTTP 429'))
    const started = Date.now()
    const summary = await openDispatcher({store: world.store, config: world.config}).run()
    expect(Date.now() - started).toBeLessThan(3000)
    expect(summary.stoppedBy).toBe('idle')
    expect(scripted.sends).toHaveLength(0)
    expect(deliveryStateCounts(world.store)).toEqual({queued: 2})
  })
})

describe('finishing an announcement', () => {
  it('ends it expired when none reached anyone, subscribers skipped (no phone, opted out) notwithstanding', () => {
    world = makeWorld(`channels:\n  plain: {type: test-plain}\n`)
    const [id] = world.queue(1)
    const {store} = world
    const deliveryId = store.deliveries.broadcastDeliveries(id!)[0]!.id
    store.db.prepare(`INSERT INTO delivery (id, announcement_id, channel, recipient, state, priority, due_at, max_attempts, created_at, updated_at)
      SELECT id || '.skipped', announcement_id, channel, recipient, 'skipped', priority, due_at, max_attempts, created_at, updated_at FROM delivery WHERE id = ?`).run(deliveryId)
    store.db.prepare(`UPDATE delivery SET state = 'expired' WHERE id = ?`).run(deliveryId)
    store.transaction(() => finishAnnouncementsIfDone(store, [id!], Date.now()))
    expect(store.announcements.get(id!)!.state).toBe('expired')
  })
})

describe('retries as status counts them', () => {
  it('counts the tries that were tried again, not a one-shot refusal', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-plain, ${fastRetries}}\n`)
    const [refused, retried, clean] = world.queue(3)
    const deliveryOf = (id: string) => world!.store.deliveries.broadcastDeliveries(id)[0]!.id
    const behaviour = new Map([
      [deliveryOf(refused!), (attempt: number) => (attempt > 0 ? new PermanentSendError('HTTP 400: bad request') : undefined)],
      [deliveryOf(retried!), (attempt: number) => (attempt === 1 ? new TransientSendError('HTTP 503') : undefined)],
    ])
    scripted.script = async (deliveryId, attempt) => {
      const error = behaviour.get(deliveryId)?.(attempt)
      if (error) throw error
      return {providerId: 'ok'}
    }
    await openDispatcher({store: world.store, config: world.config}).run()
    const retriesOf = (id: string) => world!.store.deliveries.countsByChannel(id)[0]!.retries
    expect([retriesOf(refused!), retriesOf(retried!), retriesOf(clean!)]).toEqual([0, 1, 0])
  })
})

describe('a channel that cannot send at all', () => {
  /** The plain channel's provider refuses its credentials; the idempotent one works. */
  function refusePlainChannel(w: World): void {
    const channelOf = w.store.db.prepare('SELECT channel FROM delivery WHERE id = ?').pluck()
    scripted.script = async (deliveryId) => {
      if (channelOf.get(deliveryId) === 'plain') throw new ChannelUnusableError('HTTP 401: credentials refused')
      return {providerId: 'ok'}
    }
  }
  const sendsOn = (w: World, channel: string) => scripted.sends.filter((id) => w.store.db.prepare('SELECT channel FROM delivery WHERE id = ?').pluck().get(id) === channel).length

  it('stops that channel for the run, keeping its deliveries queued with their attempts uncounted, while the others send', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-plain, concurrency: 2}\n  idem: {type: test-idempotent}\n`)
    refusePlainChannel(world)
    world.queue(20)
    const summary = await openDispatcher({store: world.store, config: world.config}).run()
    expect(summary.unusableChannels).toEqual({plain: 'HTTP 401: credentials refused'})
    expect(summary.dead).toBe(0)
    expect(sendsOn(world, 'plain')).toBeLessThanOrEqual(2)
    expect(sendsOn(world, 'idem')).toBe(20)
    const rows = world.store.db.prepare(`SELECT channel, state, attempts, count(*) AS n FROM delivery GROUP BY channel, state, attempts ORDER BY channel`).all()
    expect(rows).toEqual([
      {channel: 'idem', state: 'sent', attempts: 1, n: 20},
      {channel: 'plain', state: 'queued', attempts: 0, n: 20},
    ])
    // Those it had claimed went back with the provider's reason.
    const handedBack = world.store.db.prepare(`SELECT count(*) FROM delivery WHERE channel = 'plain' AND last_error = 'HTTP 401: credentials refused'`).pluck().get() as number
    expect(handedBack).toBeGreaterThanOrEqual(1)
    // Nothing was retried: the tries the stop handed back are no "retries" in the summary.
    expect(world.store.db.prepare(`SELECT count(*) FROM attempt a JOIN delivery d ON d.id = a.delivery_id WHERE d.channel = 'plain'`).pluck().get()).toBeGreaterThanOrEqual(1)
    const announcements = world.store.db.prepare(`SELECT DISTINCT announcement_id FROM delivery WHERE channel = 'plain'`).pluck().all() as string[]
    const plainCounts = announcements.map((id) => world!.store.deliveries.countsByChannel(id).find((counts) => counts.channel === 'plain')!)
    expect(plainCounts.reduce((n, counts) => n + counts.queued, 0)).toBe(20)
    expect(plainCounts.map((counts) => counts.retries)).toEqual(announcements.map(() => 0))
  })

  it('stops a channel declared again as another kind, instead of skipping or killing what was queued for the old one', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-plain}\n`)
    const [id] = world.queue(2)
    // As if "plain" had been an SMS channel when these were queued: one per subscriber.
    world.store.db.prepare(`UPDATE delivery SET recipient = '1'`).run()
    const summary = await openDispatcher({store: world.store, config: world.config}).run()
    expect(summary.unusableChannels.plain).toMatch(/^it is now a test-plain channel, but its queued deliveries were made for one that sends to subscribers; put it back as it was/)
    expect(scripted.sends).toEqual([])
    expect(world.store.db.prepare(`SELECT state, attempts, count(*) AS n FROM delivery GROUP BY state, attempts`).all()).toEqual([{state: 'queued', attempts: 0, n: 2}])
    expect(world.store.announcements.get(id!)!.state).toBe('sending')
  })

  it('in a worker, stops it for five minutes and says so once', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-plain, concurrency: 1}\n`)
    refusePlainChannel(world)
    world.queue(5)
    const stops: Array<{channel: string; reason: string; until: number}> = []
    const started = Date.now()
    await openDispatcher({store: world.store, config: world.config, onChannelStopped: (stop) => stops.push(stop)}).run({keepRunning: true, stop: AbortSignal.timeout(400)})
    expect(stops).toHaveLength(1)
    expect(stops[0]).toMatchObject({channel: 'plain', reason: 'HTTP 401: credentials refused'})
    expect(stops[0]!.until - started).toBeGreaterThanOrEqual(300_000)
    expect(stops[0]!.until - Date.now()).toBeLessThanOrEqual(300_000)
    expect(scripted.sends).toHaveLength(1)
    expect(deliveryStateCounts(world.store)).toEqual({queued: 5})
  })
})

describe('deliveries in doubt', () => {
  function abandon(w: World, owner: string): void {
    // What a process killed mid-send leaves behind: `sending`, leased, lease run out.
    w.store.db.prepare(`UPDATE delivery SET state = 'sending', lease_owner = ?, lease_until = ?, attempts = 1`).run(owner, Date.now() - 1)
  }

  it('requeues and resends an idempotent delivery whose lease expired', async () => {
    world = makeWorld(`channels:\n  idem: {type: test-idempotent}\n`)
    world.queue(2)
    abandon(world, 'elsewhere:1:dead')
    const summary = await openDispatcher({store: world.store, config: world.config}).run()
    expect(summary.requeued).toBe(2)
    expect(deliveryStateCounts(world.store)).toEqual({sent: 2})
    expect(scripted.sends.length).toBe(2)
  })

  it('does not resend blindly once the provider may have forgotten the idempotency key', async () => {
    world = makeWorld(`channels:\n  forgetful: {type: test-forgetful}\n`)
    world.queue(2)
    abandon(world, 'elsewhere:1:dead')
    // One was claimed two minutes ago, the other two hours ago (the machine was down since).
    const [recent, old] = world.store.db.prepare('SELECT id FROM delivery ORDER BY id').pluck().all() as string[]
    world.store.db.prepare('UPDATE delivery SET updated_at = ? WHERE id = ?').run(Date.now() - 120_000, recent)
    world.store.db.prepare('UPDATE delivery SET updated_at = ? WHERE id = ?').run(Date.now() - 7_200_000, old)
    const summary = await openDispatcher({store: world.store, config: world.config}).run()
    expect(summary.requeued).toBe(1)
    expect(summary.unknown).toBe(1)
    expect(scripted.sends).toEqual([recent])
    const states = Object.fromEntries((world.store.db.prepare('SELECT id, state FROM delivery').all() as Array<{id: string; state: string}>).map((row) => [row.id, row.state]))
    expect(states).toEqual({[recent!]: 'sent', [old!]: 'unknown'})
  })

  it('an unanswered send is unknown where a resend could duplicate, and retried where the provider deduplicates', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-plain, ${fastRetries}}\n  idem: {type: test-idempotent, ${fastRetries}}\n`)
    world.queue(1)
    scripted.script = async (_id, attempt) => {
      if (attempt === 1) throw new InDoubtSendError('timed out after 10000 ms')
      return {providerId: 'ok'}
    }
    const summary = await openDispatcher({store: world.store, config: world.config}).run()
    expect(summary.unknown).toBe(1)
    const rows = world.store.db.prepare('SELECT channel, state, attempts, last_error AS lastError FROM delivery ORDER BY channel').all() as Array<{channel: string; state: string; attempts: number; lastError: string | null}>
    expect(rows.map((row) => [row.channel, row.state, row.attempts])).toEqual([['idem', 'sent', 2], ['plain', 'unknown', 1]])
    expect(rows[1]!.lastError).toBe('no answer, so it may or may not have gone out (timed out after 10000 ms) — check plain before sending again')
  })

  it('a send a second Ctrl-C cut short before it left is queued again, even without idempotency; one on the wire is in doubt', async () => {
    // What the HTTP client says of a request still waiting for a connection when it was aborted.
    world = makeWorld(`channels:\n  plain: {type: test-plain, concurrency: 2}\n`)
    world.queue(2)
    const stop = new AbortController()
    const abort = new AbortController()
    let started = 0
    scripted.script = () =>
      new Promise((_, reject) => {
        const which = started++
        if (started === 2) setTimeout(() => (stop.abort(), abort.abort()), 10)
        abort.signal.addEventListener('abort', () => reject(which === 0 ? new NotSentError('request aborted before it was sent') : new InDoubtSendError('request aborted')), {once: true})
      })
    const dispatcher = openDispatcher({store: world.store, config: world.config})
    const summary = await dispatcher.run({stop: stop.signal, abort: abort.signal})
    await dispatcher.close()
    expect(summary.unknown).toBe(1)
    const rows = world.store.db.prepare('SELECT id, state, attempts, last_error AS lastError FROM delivery').all() as Array<{id: string; state: string; attempts: number; lastError: string}>
    const [first, second] = scripted.sends.map((id) => rows.find((row) => row.id === id)!)
    expect(first).toMatchObject({state: 'queued', attempts: 0, lastError: 'stopped before it was sent: request aborted before it was sent'})
    expect(second).toMatchObject({state: 'unknown', attempts: 1, lastError: expect.stringMatching(/^stopped mid-send, may or may not have gone out/)})
  })

  it('marks a non-idempotent delivery unknown instead of resending it', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-plain}\n`)
    const [id] = world.queue(1)
    abandon(world, 'elsewhere:1:dead')
    const events: DispatchEvent[] = []
    const summary = await openDispatcher({store: world.store, config: world.config, onEvent: (event) => events.push(event)}).run()
    expect(summary.unknown).toBe(1)
    expect(scripted.sends).toEqual([])
    const delivery = world.store.deliveries.broadcastDeliveries(id!)[0]!
    expect(delivery.state).toBe('unknown')
    // Said as it happens, as a failed send is: crier run's stderr line for cron comes from this.
    expect(events).toEqual([expect.objectContaining({deliveryId: delivery.id, channel: 'plain', nextState: 'unknown', error: expect.stringMatching(/may or may not have gone out/)})])
    expect(delivery.lastError).toMatch(/may or may not have gone out/)
    expect(world.store.announcements.get(id!)!.state).toBe('sent_with_failures')
  })

  it('reconciles where the driver can: found is sent, not found is resent, a failed lookup is unknown', async () => {
    world = makeWorld(`channels:\n  rec: {type: test-reconciling}\n`)
    world.queue(3)
    const ids = world.store.db.prepare('SELECT id FROM delivery ORDER BY id').pluck().all() as string[]
    scripted.reconciled.set(ids[0]!, true)
    scripted.reconciled.set(ids[1]!, false)
    abandon(world, 'elsewhere:1:dead')
    await openDispatcher({store: world.store, config: world.config}).run()
    const state = (id: string) => world!.store.db.prepare('SELECT state FROM delivery WHERE id = ?').pluck().get(id)
    expect(state(ids[0]!)).toBe('sent')
    expect(state(ids[1]!)).toBe('sent')
    expect(state(ids[2]!)).toBe('unknown')
    expect(scripted.sends).toEqual([ids[1]])
  })

  it('leaves a live lease alone', async () => {
    world = makeWorld(`channels:\n  plain: {type: test-plain}\n`)
    world.queue(1)
    world.store.db.prepare(`UPDATE delivery SET state = 'sending', lease_owner = 'elsewhere:1:live', lease_until = ?`).run(Date.now() + 60_000)
    const dispatcher = openDispatcher({store: world.store, config: world.config})
    const summary = await dispatcher.run({deadline: Date.now() + 300})
    expect(summary.unknown + summary.requeued + summary.sent).toBe(0)
    expect(deliveryStateCounts(world.store)).toEqual({sending: 1})
  })

  it('resolves at once the leases of a process on this host that no longer exists', async () => {
    world = makeWorld(`channels:\n  idem: {type: test-idempotent}\n`)
    world.queue(1)
    const {hostname} = await import('node:os')
    // pid 2^22+ is beyond Linux's pid_max default: no such process.
    world.store.db.prepare(`UPDATE delivery SET state = 'sending', lease_owner = ?, lease_until = ?`).run(`${hostname()}:4194303:abcd`, Date.now() + 60_000)
    const summary = await openDispatcher({store: world.store, config: world.config}).run()
    expect(summary.requeued).toBe(1)
    expect(deliveryStateCounts(world.store)).toEqual({sent: 1})
  })

  describe('a sender suspended past its lease, whose deliveries another run settled in doubt', () => {
    // The sender (SIGSTOP, a paused VM) still holds its requests open; cron's run, whose clock
    // is past the lease, settles them `unknown` and finishes the announcement with failures.
    // Then the sender wakes and its answers come in.
    async function suspendedThenSettled(extraChannels = ''): Promise<{id: string; sender: Dispatcher; sending: Promise<unknown>; release: () => void; cronStore: Store}> {
      world = makeWorld(`channels:\n  held: {type: test-plain, concurrency: 2}\n  quick: {type: test-plain}\n${extraChannels}`)
      const [id] = world.queue(1)
      let release!: () => void
      const answers = new Promise<void>((resolve) => (release = resolve))
      const channelOf = world.store.db.prepare('SELECT channel FROM delivery WHERE id = ?').pluck()
      const script = scripted.script
      let held = 0
      scripted.script = async (deliveryId, attempt) => {
        if (channelOf.get(deliveryId) === 'held') {
          held++
          await answers
          return {providerId: `late-${deliveryId}`}
        }
        return script(deliveryId, attempt)
      }
      const sender = openDispatcher({store: world.store, config: world.config, owner: 'duty-pc:4242:paused'})
      const sending = sender.run({announcementId: id})
      // What went out before it was stopped has been recorded: only the held send is in doubt.
      const others = world.store.db.prepare(`SELECT count(*) FROM delivery WHERE channel != 'held' AND state = 'sending'`).pluck()
      await vi.waitFor(() => expect([held, others.get()]).toEqual([1, 0]), {timeout: 5000})
      const cronStore = openStore(join(world.home, 'crier.db'), {actor: 'cron'})
      const inTenMinutes = () => Date.now() + 600_000
      await openDispatcher({store: cronStore, config: world.config, now: inTenMinutes}).run()
      return {id: id!, sender, sending, release, cronStore}
    }

    it('settles an `unknown` delivery by its sender\'s late answer, moves the announcement to sent and says so in the audit trail', async () => {
      const {id, sending, release, cronStore} = await suspendedThenSettled()
      try {
        expect(deliveryStateCounts(world!.store)).toEqual({sent: 1, unknown: 1})
        expect(world!.store.announcements.get(id)!.state).toBe('sent_with_failures')
        release()
        await sending
        expect(deliveryStateCounts(world!.store)).toEqual({sent: 2})
        expect(world!.store.announcements.get(id)!.state).toBe('sent')
        const trail = world!.store.db.prepare(`SELECT actor, action, details FROM audit_event WHERE subject = ? AND action IN ('send-result', 'in-doubt-resolved') ORDER BY seq`).all(id) as Array<{actor: string; action: string; details: string}>
        expect(trail.map((event) => ({...event, details: JSON.parse(event.details) as unknown}))).toEqual([
          {actor: 'cron', action: 'send-result', details: {from: 'sending', to: 'sent_with_failures', channels: {held: {unknown: 1}, quick: {sent: 1}}}},
          {
            actor: 'in-process',
            action: 'in-doubt-resolved',
            details: {from: 'sent_with_failures', to: 'sent', resolved: {held: 1}, by: 'late answer of its sender', senders: ['duty-pc:4242:paused'], channels: {held: {sent: 1}, quick: {sent: 1}}},
          },
        ])
        expect(world!.store.audit.verify()).toMatchObject({ok: true})
      } finally {
        cronStore.close()
      }
    })

    it('keeps the announcement sent_with_failures while anything else of it failed, and still records the resolution', async () => {
      const script = scripted.script
      scripted.script = async (deliveryId, attempt) => {
        if (world!.store.db.prepare('SELECT channel FROM delivery WHERE id = ?').pluck().get(deliveryId) === 'refused') throw new PermanentSendError('HTTP 400: no')
        return script(deliveryId, attempt)
      }
      const {id, sending, release, cronStore} = await suspendedThenSettled('  refused: {type: test-plain}\n')
      try {
        release()
        await sending
        expect(deliveryStateCounts(world!.store)).toEqual({sent: 2, dead: 1})
        expect(world!.store.announcements.get(id)!.state).toBe('sent_with_failures')
        expect(world!.store.audit.latestOf(id, 'send-result').map((event) => event.details.channels)).toEqual([{held: {unknown: 1}, quick: {sent: 1}, refused: {dead: 1}}])
        expect(world!.store.audit.latestOf(id, 'in-doubt-resolved').map((event) => event.details)).toEqual([
          expect.objectContaining({from: 'sent_with_failures', to: 'sent_with_failures', resolved: {held: 1}}),
        ])
      } finally {
        cronStore.close()
      }
    })
  })
})
