import {afterEach, describe, expect, it} from 'vitest'
import {makeWorld, removeWorld, type World} from '../helpers/world.js'

// recordResults writes a group commit's attempts and sends in bulk (VALUES lists) and anything
// else row by row; these pin what it must write either way.

let world: World | undefined
afterEach(() => {
  if (world) removeWorld(world)
  world = undefined
})

function claimAll(w: World, owner: string, now: number) {
  return w.store.transaction(() => w.store.deliveries.claimDue({channel: 'partners', owner, now, leaseUntil: now + 60_000, limit: 100}))
}

function rows(w: World) {
  return w.store.db
    .prepare(`SELECT id, state, receipt_id AS receiptId, receipt_url AS receiptUrl, last_error AS lastError, lease_owner AS leaseOwner, attempts, finished_at AS finishedAt FROM delivery ORDER BY id`)
    .all() as Array<Record<string, unknown>>
}

describe('recording results', () => {
  it('writes sends, failures and their attempts, with text of any shape intact', async () => {
    world = makeWorld('channels:\n  partners: {type: webhook, url: "http://127.0.0.1:9/hook"}\n')
    world.queue(3)
    const now = Date.now()
    const [a, b, c] = claimAll(world, 'me:1:x', now)
    const odd = 'ok "quoted", \\ back\\slash\nnew line, ünïcödé, emoji 🚨, \u2028'
    world.store.transaction(() =>
      world!.store.deliveries.recordResults(
        [
          {id: a!.id, owner: 'me:1:x', startedAt: now, durationMs: 12, outcome: 'sent', nextState: 'sent', receiptId: odd, receiptUrl: 'https://example.org/r/1'},
          {id: b!.id, owner: 'me:1:x', startedAt: now, durationMs: 30, outcome: 'transient', nextState: 'failed', dueAt: now + 1000, error: `HTTP 503: ${odd}`},
          {id: c!.id, owner: 'me:1:x', startedAt: now, durationMs: 7, outcome: 'sent', nextState: 'sent'},
        ],
        now + 50,
      ),
    )
    const byId = new Map(rows(world).map((row) => [row.id, row]))
    expect(byId.get(a!.id)).toMatchObject({state: 'sent', receiptId: odd, receiptUrl: 'https://example.org/r/1', lastError: null, leaseOwner: null, attempts: 1, finishedAt: now + 50})
    expect(byId.get(b!.id)).toMatchObject({state: 'failed', receiptId: null, lastError: `HTTP 503: ${odd}`, leaseOwner: null, attempts: 1, finishedAt: null})
    expect(byId.get(c!.id)).toMatchObject({state: 'sent', receiptId: null, leaseOwner: null, finishedAt: now + 50})
    const attempts = world.store.db.prepare('SELECT delivery_id AS id, started_at AS startedAt, duration_ms AS durationMs, outcome, receipt_id AS receiptId, error FROM attempt ORDER BY id').all()
    expect(attempts).toEqual([
      {id: a!.id, startedAt: now, durationMs: 12, outcome: 'sent', receiptId: odd, error: null},
      {id: b!.id, startedAt: now, durationMs: 30, outcome: 'transient', receiptId: null, error: `HTTP 503: ${odd}`},
      {id: c!.id, startedAt: now, durationMs: 7, outcome: 'sent', receiptId: null, error: null},
    ])
  })

  it('keeps a send whose lease was given up meanwhile (it happened), and drops a failure for a lease no longer held', async () => {
    world = makeWorld('channels:\n  partners: {type: webhook, url: "http://127.0.0.1:9/hook"}\n')
    world.queue(2)
    const now = Date.now()
    const [a, b] = claimAll(world, 'slow:1:x', now)
    // Another process decided both were in doubt: one requeued, one marked unknown.
    world.store.transaction(() => {
      world!.store.deliveries.requeue(a!.id, 'slow:1:x', 'in doubt', now + 10)
      world!.store.deliveries.markUnknown(b!.id, 'slow:1:x', 'in doubt', now + 10)
    })
    world.store.transaction(() =>
      world!.store.deliveries.recordResults(
        [
          {id: a!.id, owner: 'slow:1:x', startedAt: now, durationMs: 70_000, outcome: 'sent', nextState: 'sent', receiptId: 'late-1'},
          {id: b!.id, owner: 'slow:1:x', startedAt: now, durationMs: 70_000, outcome: 'transient', nextState: 'failed', dueAt: now + 1000, error: 'timed out'},
        ],
        now + 70_000,
      ),
    )
    const byId = new Map(rows(world).map((row) => [row.id, row]))
    expect(byId.get(a!.id)).toMatchObject({state: 'sent', receiptId: 'late-1', lastError: null})
    expect(byId.get(b!.id)).toMatchObject({state: 'unknown', lastError: 'in doubt'})
  })

  it('a delivery stopped while it was being sent is never queued again: a failure or a hand-back ends it cancelled, a requeue (its sender died) unknown; a send still counts', async () => {
    world = makeWorld('channels:\n  partners: {type: webhook, url: "http://127.0.0.1:9/hook"}\n')
    const ids = world.queue(4)
    const now = Date.now()
    const [a, b, c, d] = claimAll(world, 'me:1:x', now)
    world.store.transaction(() => {
      for (const id of ids) world!.store.deliveries.cancelUndelivered(id, 'cancelled by sgt.first', now + 5)
    })
    expect(world.store.deliveries.stoppedWhileHeld('me:1:x').sort()).toEqual([a!.id, b!.id, c!.id, d!.id].sort())
    world.store.transaction(() =>
      world!.store.deliveries.recordResults(
        [
          {id: a!.id, owner: 'me:1:x', startedAt: now, durationMs: 30, outcome: 'transient', nextState: 'failed', dueAt: now + 1000, error: 'HTTP 503'},
          {id: b!.id, owner: 'me:1:x', startedAt: now, durationMs: 0, outcome: 'aborted', nextState: 'queued', dueAt: now, refundAttempt: true, notAttempted: true},
          {id: c!.id, owner: 'me:1:x', startedAt: now, durationMs: 9, outcome: 'sent', nextState: 'sent'},
        ],
        now + 50,
      ),
    )
    expect(world.store.transaction(() => world!.store.deliveries.requeue(d!.id, 'me:1:x', 'its sender stopped mid-send', now + 60))).toBe('unknown')
    const byId = new Map(rows(world).map((row) => [row.id, row]))
    const reason = 'cancelled by sgt.first while a sender held it; not sent again'
    expect(byId.get(a!.id)).toMatchObject({state: 'cancelled', lastError: `${reason} (HTTP 503)`, finishedAt: now + 50})
    expect(byId.get(b!.id)).toMatchObject({state: 'cancelled', lastError: reason, finishedAt: now + 50})
    expect(byId.get(c!.id)).toMatchObject({state: 'sent'})
    // Its sender died mid-send: it may have gone out, so unknown (the Cancel goes to it), never resent.
    expect(byId.get(d!.id)).toMatchObject({state: 'unknown', lastError: `${reason}; its sender stopped mid-send, so it may or may not have gone out`, finishedAt: now + 60})
    expect(world.store.deliveries.stoppedWhileHeld('me:1:x')).toEqual([])
  })
})

describe('the reason a channel line gives', () => {
  it('is the gravest state’s, named when several states are shown: a dead delivery’s over a later opt-out', async () => {
    const {channelCountsLine} = await import('../../src/views/status-lines.js')
    world = makeWorld('channels:\n  partners: {type: webhook, url: "http://127.0.0.1:9/hook"}\n')
    const [id] = world.queue(1)
    const extra = world.store.db.prepare(`INSERT INTO delivery (id, announcement_id, channel, recipient, state, priority, due_at, max_attempts, last_error, created_at, updated_at)
      VALUES (@id, @announcement, 'partners', NULL, @state, 1, 0, 8, @error, 0, @at)`)
    extra.run({id: 'x1', announcement: id, state: 'cancelled', error: 'superseded by Update 01ABC before it was sent', at: 10})
    extra.run({id: 'x2', announcement: id, state: 'skipped', error: 'opted out since the broadcast was queued', at: 30})
    const [partners] = world.store.deliveries.countsByChannel(id!)
    expect(channelCountsLine(partners!)).toBe('partners    sent 0/3  pending 1  skipped 1  cancelled 1   (cancelled: superseded by Update 01ABC before it was sent)')
    extra.run({id: 'x3', announcement: id, state: 'dead', error: 'HTTP 400: bad request', at: 20})
    expect(channelCountsLine(world.store.deliveries.countsByChannel(id!)[0]!)).toMatch(/\(dead: HTTP 400: bad request\)$/)
    // One state beside the sent count: no need to name it.
    world.store.db.prepare(`DELETE FROM delivery WHERE id IN ('x1', 'x2', 'x3')`).run()
    extra.run({id: 'x4', announcement: id, state: 'dead', error: 'HTTP 400: bad request', at: 40})
    world.store.db.prepare(`UPDATE delivery SET state = 'sent', last_error = NULL WHERE id != 'x4'`).run()
    expect(channelCountsLine(world.store.deliveries.countsByChannel(id!)[0]!)).toBe('partners    sent 1/2  dead 1   (HTTP 400: bad request)')
  })

  it('of one state, is the reason most of them share, not the one that settled last', async () => {
    const {channelCountsLine} = await import('../../src/views/status-lines.js')
    world = makeWorld('channels:\n  partners: {type: webhook, url: "http://127.0.0.1:9/hook"}\n')
    const [id] = world.queue(1)
    world.store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ?`).run(id)
    const extra = world.store.db.prepare(`INSERT INTO delivery (id, announcement_id, channel, recipient, state, priority, due_at, max_attempts, last_error, created_at, updated_at)
      VALUES (@id, @announcement, 'partners', NULL, 'cancelled', 1, 0, 8, @error, 0, @at)`)
    for (let i = 0; i < 5; i++) extra.run({id: `c${i}`, announcement: id, error: 'cancelled by pc.owen', at: 10})
    // Held by a sender when the cancel came, they settle later.
    for (let i = 0; i < 2; i++) extra.run({id: `h${i}`, announcement: id, error: 'cancelled by pc.owen while a sender held it; not sent again', at: 20})
    expect(channelCountsLine(world.store.deliveries.countsByChannel(id!)[0]!)).toBe('partners    sent 1/8  cancelled 7   (cancelled by pc.owen)')
  })
})

describe("a channel's shared rate bucket", () => {
  it('never refills the same time twice when a claim that waited for the lock brings an earlier time', () => {
    // Four crier runs on one queue: each read its time, then waited for the others' claims. A late
    // one set the bucket's clock back, the next counted that time again — 8.4 texts/s at rate 5/s.
    world = makeWorld('channels:\n  partners: {type: webhook, url: "http://127.0.0.1:9/hook"}\n')
    const take = (want: number, now: number) => world!.store.transaction(() => world!.store.deliveries.takeRateTokens('partners', 100, want, now))
    const t0 = 1_700_000_000_000
    expect(take(1000, t0).granted).toBe(10)
    // A second at 100/s refills 100, however late some claims' times arrive: each 50 ms step
    // followed by a claim whose time is 25 ms older.
    let granted = 0
    for (let ms = 50; ms <= 1000; ms += 50) granted += take(1000, t0 + ms).granted + take(1000, t0 + ms - 25).granted
    expect(granted).toBe(100)
    expect(take(1000, t0 + 1000)).toEqual({granted: 0, waitMs: 10})
  })
})
