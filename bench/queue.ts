import {join} from 'node:path'
import {monotonicFactory} from 'ulid'
import {z} from 'zod'
import type {ChannelConfig, Driver} from '../src/channels/driver.js'
import {registerDriver} from '../src/channels/registry.js'
import type {Config} from '../src/config/load.js'
import {policySchema} from '../src/config/schema.js'
import {Dispatcher} from '../src/engine/dispatcher.js'
import {openStore} from '../src/store/index.js'
import {openDatabase} from '../src/store/open.js'
import {benchAnnouncement, countQueueCalls, deliveryStates, insertDeliveries, tempDir, type QueueShape} from './fixtures.js'
import {collectGarbage, summarise, type Summary} from './stats.js'

// The queue without the network: 100,000 deliveries claimed, "sent" by a driver that does
// nothing, and recorded. What is left is crier's own cost per delivery (claim, bookkeeping,
// group commits), set against the floor: the same SQL in a plain synchronous loop.

export interface QueueResult {
  deliveries: number
  channels: number
  /** crier: deliveries per second through Dispatcher.run(). */
  crier: Summary
  /** The floor: deliveries per second through the same SQL in a bare loop. */
  floor: Summary
  /** crier fan-out (store.deliveries.insert in one transaction), deliveries per second. */
  fanOut: Summary
  /** The same INSERT in a bare loop, deliveries per second. */
  fanOutFloor: Summary
  /** How crier's median run claimed and committed. */
  shape: QueueShape
}

const concurrency = 64
/** The dispatcher's claim target per channel (concurrency × 2) and its groupCommitSize. */
const claimBatch = concurrency * 2
const groupCommitSize = 128
export const maxAttempts = 8
/** deliveryPriority() of the bench announcement (Moderate, Expected), written out: the floor runs no crier code. */
const moderateExpected = 21

const noopDriver: Driver = {
  type: 'bench-noop',
  kind: 'broadcast',
  config: z.object({}),
  capabilities: {counts: 'characters', threads: false, media: false, idempotent: true, reconcile: false},
  render: () => ({parts: [], payload: null}),
  send: async () => ({providerId: 'ok'}),
  check: async () => ({ok: true, detail: ''}),
}
let isRegistered = false

/** A config of `channelNames` no-op channels (the driver answers at once), registering the driver on first use. */
export function noopConfig(channelNames: string[]): Config {
  if (!isRegistered) {
    registerDriver(noopDriver)
    isRegistered = true
  }
  const channels: Record<string, ChannelConfig> = {}
  for (const name of channelNames) {
    channels[name] = {name, type: 'bench-noop', concurrency, maxAttempts, timeout: '10s', retryBase: '1s', retryCap: '5m', allowTest: false}
  }
  return {source: 'bench (built in code)', sender: 'alerts@northwales.example', timezone: 'Europe/London', languages: ['en-GB'], channels, policy: policySchema.parse({})}
}

export async function benchQueue(deliveries: number, channelCount: number, runs: number): Promise<QueueResult> {
  const names = Array.from({length: channelCount}, (_, i) => `noop-${String(i + 1).padStart(2, '0')}`)
  const crier: number[] = []
  const floor: number[] = []
  const fanOut: number[] = []
  const fanOutFloor: number[] = []
  const shapes: Array<QueueShape & {rate: number}> = []
  // Alternate, so drift over the minute touches both sides alike.
  for (let run = 0; run < runs; run++) {
    const c = await crierRun(deliveries, names)
    crier.push(c.rate)
    fanOut.push(c.fanOutRate)
    shapes.push({...c.shape, rate: c.rate})
    const f = floorRun(deliveries, names)
    floor.push(f.rate)
    fanOutFloor.push(f.fanOutRate)
  }
  const crierSummary = summarise(crier)
  const medianShape = shapes.find((shape) => shape.rate === crierSummary.median) ?? shapes[0]!
  return {
    deliveries,
    channels: channelCount,
    crier: crierSummary,
    floor: summarise(floor),
    fanOut: summarise(fanOut),
    fanOutFloor: summarise(fanOutFloor),
    shape: {claimCalls: medianShape.claimCalls, claimedRows: medianShape.claimedRows, flushes: medianShape.flushes, flushedRows: medianShape.flushedRows, queueThread: medianShape.queueThread},
  }
}

async function crierRun(count: number, names: string[]) {
  const store = openStore(join(tempDir('queue'), 'crier.db'))
  const config = noopConfig(names)
  const announcement = benchAnnouncement({now: Date.now(), channels: names, state: 'sending'})
  store.transaction(() => store.announcements.insert(announcement))
  const fanOutMs = insertDeliveries(store, announcement, names, count, maxAttempts)

  const calls = countQueueCalls(store)
  collectGarbage()
  const dispatcher = new Dispatcher({store, config})
  const started = performance.now()
  const summary = await dispatcher.run()
  const ms = performance.now() - started
  calls.queueThread = dispatcher.queueRunsOn === 'queue thread'
  await dispatcher.close()

  const states = deliveryStates(store, announcement.id)
  if (states.sent !== count || summary.sent !== count) {
    throw new Error(`no-op queue: expected ${count} sent, the database says ${JSON.stringify(states)}, the dispatcher ${JSON.stringify(summary)}`)
  }
  const finalState = store.announcements.get(announcement.id)?.state
  if (finalState !== 'sent') throw new Error(`no-op queue: the announcement ended ${finalState}, expected sent`)
  store.close()
  return {
    rate: (count / ms) * 1000,
    fanOutRate: (count / fanOutMs) * 1000,
    shape: calls,
  }
}

// The floor's SQL is the store's, copied verbatim from src/store/deliveries.ts (keep in step).
const insertSql = `INSERT INTO delivery (id, announcement_id, channel, recipient, state, priority, due_at,
      expires_at, max_attempts, created_at, updated_at)
    VALUES (@id, @announcementId, @channel, @recipient, 'queued', @priority, @dueAt, @expiresAt, @maxAttempts, @now, @now)`
const claimSql = `UPDATE delivery SET state = 'sending', lease_owner = @owner, lease_until = @leaseUntil,
      attempts = attempts + 1, updated_at = @now
    WHERE id IN (SELECT id FROM delivery WHERE channel = @channel AND state IN ('queued', 'failed') AND due_at <= @now
                 ORDER BY priority, due_at LIMIT @limit)
    RETURNING id, announcement_id AS announcementId, channel, recipient, attempts, max_attempts AS maxAttempts,
      expires_at AS expiresAt`
const recordAttemptsSql = `INSERT INTO attempt (delivery_id, started_at, duration_ms, outcome, receipt_id, error)
    SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 FROM json_each(?)`
const recordSentSql = `UPDATE delivery SET state = 'sent', last_error = NULL,
      receipt_id = COALESCE(r.value ->> 2, receipt_id), receipt_url = COALESCE(r.value ->> 3, receipt_url),
      lease_owner = NULL, lease_until = NULL, updated_at = @now, finished_at = @now
    FROM json_each(@rows) AS r
    WHERE delivery.id = r.value ->> 0 AND delivery.state = 'sending' AND delivery.lease_owner = r.value ->> 1
    RETURNING delivery.id`

/**
 * The floor: a fresh file with crier's schema and pragmas (openDatabase), then the same claim
 * and record SQL in a synchronous loop: each round claims claimBatch rows per channel in one
 * BEGIN IMMEDIATE, then records them in group commits of groupCommitSize.
 */
function floorRun(count: number, names: string[]) {
  const db = openDatabase(join(tempDir('floor'), 'crier.db'))
  const now0 = Date.now()
  const announcement = benchAnnouncement({now: now0, channels: names, state: 'sending'})
  db.prepare(`INSERT INTO announcement (id, identifier, sender, cap_status, msg_type, scope, category, event, urgency, severity,
      certainty, variants_json, channels_json, expires_at, state, author, created_at, updated_at)
    VALUES (?, ?, ?, 'Actual', 'Alert', 'Public', 'Transport', 'Road closure', 'Expected', 'Moderate', 'Observed', ?, ?, ?, 'sending', 'bench', ?, ?)`).run(
    announcement.id, announcement.identifier, announcement.sender, JSON.stringify(announcement.variants), JSON.stringify(names), announcement.expiresAt, now0, now0,
  )
  const insert = db.prepare(insertSql)
  const claim = db.prepare(claimSql)
  const recordAttempts = db.prepare(recordAttemptsSql)
  const recordSent = db.prepare(recordSentSql).pluck()
  const nextId = monotonicFactory()

  const fanOutStarted = performance.now()
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      insert.run({id: nextId(now0), announcementId: announcement.id, channel: names[i % names.length], recipient: null, priority: moderateExpected, dueAt: now0, expiresAt: announcement.expiresAt, maxAttempts, now: now0})
    }
  })()
  const fanOutMs = performance.now() - fanOutStarted

  const owner = `bench-floor:${process.pid}`
  type Claimed = {id: string}
  const claimAll = db.transaction((now: number) => {
    const claimed: Claimed[] = []
    for (const channel of names) for (const row of claim.all({channel, owner, now, leaseUntil: now + 60_000, limit: claimBatch}) as Claimed[]) claimed.push(row)
    return claimed
  })
  const recordGroup = db.transaction((rows: Claimed[], now: number) => {
    recordAttempts.run(JSON.stringify(rows.map((row) => [row.id, now, 0, 'sent', 'ok', null])))
    const recorded = recordSent.all({rows: JSON.stringify(rows.map((row) => [row.id, owner, 'ok', null])), now})
    if (recorded.length !== rows.length) throw new Error(`no-op floor: recorded ${recorded.length} of ${rows.length}`)
  })

  collectGarbage()
  const started = performance.now()
  for (;;) {
    const claimed = claimAll.immediate(Date.now())
    if (claimed.length === 0) break
    for (let i = 0; i < claimed.length; i += groupCommitSize) recordGroup.immediate(claimed.slice(i, i + groupCommitSize), Date.now())
  }
  const ms = performance.now() - started

  const sent = db.prepare(`SELECT count(*) FROM delivery WHERE state = 'sent'`).pluck().get() as number
  if (sent !== count) throw new Error(`no-op floor: expected ${count} sent, found ${sent}`)
  db.close()
  return {rate: (count / ms) * 1000, fanOutRate: (count / fanOutMs) * 1000}
}
