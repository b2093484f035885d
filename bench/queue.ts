import {join} from 'node:path'
import {z} from 'zod'
import type {ChannelConfig, Driver} from '../src/channels/driver.js'
import {registerDriver} from '../src/channels/registry.js'
import type {Config} from '../src/config/load.js'
import {policySchema} from '../src/config/schema.js'
import {Dispatcher} from '../src/engine/dispatcher.js'
import {openStore} from '../src/store/index.js'
import {benchAnnouncement, countQueueCalls, deliveryStates, insertDeliveries, tempDir, type QueueShape} from './fixtures.js'
import {FloorQueue} from './floor-queue.js'
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
/** The dispatcher's claim target per channel (concurrency × 2). */
const claimBatch = concurrency * 2
export const maxAttempts = 8

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

/**
 * The floor: a fresh file with crier's schema and pragmas, then the same claim and record SQL in
 * a synchronous loop (floor-queue.ts): each round claims claimBatch rows per channel in one
 * BEGIN IMMEDIATE, then records them in group commits of groupCommitSize.
 */
function floorRun(count: number, names: string[]) {
  const queue = new FloorQueue('floor', names, count, maxAttempts)
  collectGarbage()
  const started = performance.now()
  queue.drain(claimBatch)
  const ms = performance.now() - started
  queue.finish()
  return {rate: (count / ms) * 1000, fanOutRate: (count / queue.fanOutMs) * 1000}
}
