import {afterEach, describe, expect, it} from 'vitest'
import {createDraft} from '../../src/core/drafting.js'
import {newId} from '../../src/core/ids.js'
import {fanOut} from '../../src/engine/fan-out.js'
import {liveSnapshotReader} from '../../src/engine/live-snapshot.js'
import {retryDeadDeliveries} from '../../src/engine/retry-dead.js'
import type {AttemptResult} from '../../src/store/deliveries.js'
import {makeWorld, removeWorld, type World} from '../helpers/world.js'

// The live view's snapshot against a real SQLite store: the cheap per-state counts must say
// exactly what the full count (countsByChannel) says, at every step of a broadcast.

const config = `channels:
  partners: {type: webhook, url: "http://127.0.0.1:9/hooks/a"}
  county: {type: webhook, url: "http://127.0.0.1:9/hooks/b"}
`
let world: World | undefined
afterEach(() => {
  if (world) removeWorld(world)
  world = undefined
})

/** An announcement fanned out to both channels, plus `extra` more deliveries per channel (as an audience would add). */
function broadcastWith(extra: number): {world: World; id: string} {
  const w = makeWorld(config)
  const draft = createDraft(w.ctx, {text: 'Flood warning for the Conwy valley.', severity: 'Minor', channels: ['partners', 'county']})
  fanOut(w.ctx, draft.id)
  const now = Date.now()
  w.store.transaction(() => {
    for (const channel of ['partners', 'county']) {
      for (let i = 0; i < extra; i++) w.store.deliveries.insert({id: newId(now), announcementId: draft.id, channel, recipient: null, priority: 30, dueAt: now, expiresAt: null, maxAttempts: 3}, now)
    }
  })
  return {world: w, id: draft.id}
}

function claim(w: World, channel: string, limit: number, owner = 'test-owner') {
  const now = Date.now()
  return w.store.transaction(() => w.store.deliveries.claimDue({channel, owner, now, leaseUntil: now + 60_000, limit}))
}

function record(w: World, ids: string[], result: Pick<AttemptResult, 'outcome' | 'nextState'> & Partial<AttemptResult>, owner = 'test-owner') {
  const now = Date.now()
  w.store.transaction(() => w.store.deliveries.recordResults(ids.map((id) => ({id, owner, startedAt: now, durationMs: 1, ...result})), now))
}

/** The snapshot's counts in countsByChannel's shape, for comparison. */
function countsOf(snapshot: ReturnType<ReturnType<typeof liveSnapshotReader>['read']>) {
  return snapshot.channels.map(({lastError: _lastError, lastErrorState: _lastErrorState, ...counts}) => counts)
}
function fullCounts(w: World, id: string) {
  return w.store.deliveries.countsByChannel(id).map(({retries: _retries, lastError: _lastError, lastErrorState: _lastErrorState, ...counts}) => counts)
}

describe('the live snapshot', () => {
  it('counts every state exactly as the full count does, at every step', () => {
    const prepared = broadcastWith(49)
    world = prepared.world
    const reader = liveSnapshotReader(world.store, prepared.id)
    const first = reader.read()
    expect(countsOf(first)).toEqual(fullCounts(world, prepared.id))
    expect(first.channels.map((c) => [c.channel, c.total, c.queued])).toEqual([
      ['county', 50, 50],
      ['partners', 50, 50],
    ])
    expect(first.pending).toBe(100)
    expect(first.isFinal).toBe(false)
    expect(first.startedAt).toBeGreaterThan(0)

    const partners = claim(world, 'partners', 20).map((d) => d.id)
    expect(countsOf(reader.read())).toEqual(fullCounts(world, prepared.id))
    record(world, partners.slice(0, 10), {outcome: 'sent', nextState: 'sent', receiptId: 'r'})
    record(world, partners.slice(10, 14), {outcome: 'transient', nextState: 'failed', dueAt: Date.now() + 60_000, error: 'HTTP 503: service unavailable'})
    record(world, partners.slice(14, 16), {outcome: 'permanent', nextState: 'dead', error: 'HTTP 400: bad request'})
    record(world, partners.slice(16, 18), {outcome: 'transient', nextState: 'dead', error: 'gave up after 3 attempts: HTTP 502'})
    for (const id of partners.slice(18, 20)) world.store.deliveries.markUnknown(id, 'test-owner', 'its sender stopped mid-send', Date.now())
    const county = claim(world, 'county', 50).map((d) => d.id)
    record(world, county, {outcome: 'sent', nextState: 'sent', receiptId: 'r'})

    const mid = reader.read()
    expect(countsOf(mid)).toEqual(fullCounts(world, prepared.id))
    const byName = Object.fromEntries(mid.channels.map((c) => [c.channel, c]))
    expect(byName.partners).toMatchObject({sent: 10, failed: 4, dead: 4, unknown: 2, queued: 30})
    expect(byName.county).toMatchObject({sent: 50, queued: 0})
    expect(mid.pending).toBe(34)
    expect(mid.trouble).toBe(6)
    // Only the two that gave up after transient failures may be retried.
    expect(mid.retryableDead).toBe(2)
    // The latest news on partners: the unknown ones (their error has no attempt row).
    expect(byName.partners!.lastError).toBe('its sender stopped mid-send')
    expect(byName.county!.lastError).toBeNull()
  })

  it('shows the newest failed attempt of each channel, read from the attempts since the last look', () => {
    const prepared = broadcastWith(4)
    world = prepared.world
    const reader = liveSnapshotReader(world.store, prepared.id)
    reader.read()
    const [a, b] = claim(world, 'partners', 2).map((d) => d.id)
    record(world, [a!], {outcome: 'transient', nextState: 'failed', dueAt: Date.now() + 60_000, error: 'HTTP 503: first'})
    record(world, [b!], {outcome: 'transient', nextState: 'failed', dueAt: Date.now() + 60_000, error: '\u001b]0;pwned\u0007HTTP 500: second'})
    const snapshot = reader.read()
    // Stored as the provider said it: the view strips it (test/views/live-view.test.tsx).
    expect(snapshot.channels.find((c) => c.channel === 'partners')!.lastError).toBe('\u001b]0;pwned\u0007HTTP 500: second')
  })

  it('is final once nothing is pending', () => {
    const prepared = broadcastWith(0)
    world = prepared.world
    const reader = liveSnapshotReader(world.store, prepared.id)
    for (const channel of ['partners', 'county']) record(world, claim(world, channel, 1).map((d) => d.id), {outcome: 'sent', nextState: 'sent', receiptId: 'r'})
    const snapshot = reader.read()
    expect(snapshot.isFinal).toBe(true)
    expect(snapshot.channels.map((c) => c.sent)).toEqual([1, 1])
  })
})

describe('retrying dead deliveries (the view\'s r)', () => {
  it('requeues those that died of transient failures, with fresh attempts; leaves refused and unknown ones; records who did it', () => {
    const prepared = broadcastWith(5)
    world = prepared.world
    const ids = claim(world, 'partners', 6).map((d) => d.id)
    record(world, ids.slice(0, 2), {outcome: 'transient', nextState: 'dead', error: 'gave up after 3 attempts: HTTP 502'})
    record(world, ids.slice(2, 4), {outcome: 'permanent', nextState: 'dead', error: 'HTTP 400: bad request'})
    for (const id of ids.slice(4, 6)) world.store.deliveries.markUnknown(id, 'test-owner', 'its sender stopped mid-send', Date.now())
    const result = retryDeadDeliveries({...world.ctx, user: 'sgt.jones'}, prepared.id)
    expect(result).toEqual({requeued: 2, byChannel: {partners: 2}})
    const rows = world.store.db.prepare(`SELECT id, state, attempts, finished_at AS finishedAt, last_error AS lastError FROM delivery WHERE id IN (${ids.map(() => '?').join(',')})`).all(...ids) as Array<{id: string; state: string; attempts: number; finishedAt: number | null; lastError: string}>
    const byId = new Map(rows.map((row) => [row.id, row]))
    for (const id of ids.slice(0, 2)) expect(byId.get(id)).toMatchObject({state: 'queued', attempts: 0, finishedAt: null, lastError: 'retried by sgt.jones after: gave up after 3 attempts: HTTP 502'})
    for (const id of ids.slice(2, 4)) expect(byId.get(id)!.state).toBe('dead')
    for (const id of ids.slice(4, 6)) expect(byId.get(id)!.state).toBe('unknown')
    const events = world.store.audit.list({subject: prepared.id}).filter((event) => event.action === 'state-changed')
    const retried = events.find((event) => event.details.includes('"from":"dead"'))
    expect(retried?.actor).toBe('sgt.jones')
    // A second r finds nothing left to retry.
    expect(retryDeadDeliveries(world.ctx, prepared.id).requeued).toBe(0)
  })

  it('leaves a finished announcement as it ended', () => {
    const prepared = broadcastWith(0)
    world = prepared.world
    record(world, claim(world, 'partners', 1).map((d) => d.id), {outcome: 'transient', nextState: 'dead', error: 'gave up after 3 attempts: HTTP 502'})
    record(world, claim(world, 'county', 1).map((d) => d.id), {outcome: 'sent', nextState: 'sent', receiptId: 'r'})
    world.store.transaction(() => world!.store.announcements.setState(prepared.id, 'sent_with_failures', Date.now()))
    expect(world.store.dashboard.countRetryableDead(prepared.id, Date.now())).toBe(1)
    expect(retryDeadDeliveries(world.ctx, prepared.id).requeued).toBe(0)
  })
})
