import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import type {Announcement, LifecycleState} from '../src/core/announcement.js'
import {newId} from '../src/core/ids.js'
import {deliveryPriority} from '../src/engine/priority.js'
import type {Store} from '../src/store/index.js'

// Shared bits of the bench scenarios: where things go, and an announcement as an officer writes one.

/** The package root (holds bin/run.js and node_modules), from dist/bench/ or bench/. */
export const packageRoot = fileURLToPath(new URL(import.meta.url.endsWith('/dist/bench/fixtures.js') ? '../../' : '../', import.meta.url))

const created: string[] = []

/** A fresh private directory under the OS temp dir; removed by removeTempDirs(). */
export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `crier-bench-${label}-`))
  created.push(dir)
  return dir
}

export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, {recursive: true, force: true})
}

const sixHoursMs = 6 * 3600_000

/** A realistic, valid announcement (a road closure, one language, an area, expiring in six hours). */
export function benchAnnouncement(options: {now: number; channels: string[]; state: LifecycleState; id?: string}): Announcement {
  const id = options.id ?? newId(options.now)
  return {
    id,
    identifier: `crier-${id}`,
    sender: 'alerts@northwales.example',
    senderName: 'North Wales Police',
    status: 'Actual',
    msgType: 'Alert',
    scope: 'Public',
    category: 'Transport',
    event: 'Road closure',
    urgency: 'Expected',
    severity: 'Moderate',
    certainty: 'Observed',
    area: {description: 'Bangor, Gwynedd', polygons: [], circles: [], geocodes: []},
    variants: [
      {
        language: 'en-GB',
        headline: 'A55 closed westbound J11–J12',
        description: 'The A55 is closed westbound between J11 and J12 after a collision. Expect delays on diversion routes through Bangor.',
        instruction: 'Avoid the area and allow extra time for your journey.',
      },
    ],
    channels: options.channels,
    expiresAt: options.now + sixHoursMs,
    state: options.state,
    author: 'sgt.jones',
    createdAt: options.now,
    updatedAt: options.now,
    sentAt: options.state === 'sent' ? options.now : undefined,
  }
}

/**
 * Creates `count` deliveries of one announcement, spread round-robin over `channels`, in one
 * transaction through the store (as fan-out does); returns the time it took in ms.
 */
export function insertDeliveries(store: Store, announcement: Announcement, channels: string[], count: number, maxAttempts: number): number {
  const now = Date.now()
  const priority = deliveryPriority(announcement)
  const started = performance.now()
  store.transaction(() => {
    for (let i = 0; i < count; i++) {
      store.deliveries.insert(
        {id: newId(now), announcementId: announcement.id, channel: channels[i % channels.length]!, recipient: null, priority, dueAt: now, expiresAt: announcement.expiresAt ?? null, maxAttempts},
        now,
      )
    }
  })
  return performance.now() - started
}

/** Deliveries of an announcement per state, counted by SQL (not by what the dispatcher says). */
export function deliveryStates(store: Store, announcementId: string): Record<string, number> {
  const rows = store.db.prepare(`SELECT state, count(*) AS n FROM delivery WHERE announcement_id = ? GROUP BY state`).all(announcementId) as Array<{state: string; n: number}>
  return Object.fromEntries(rows.map((row) => [row.state, row.n]))
}

/** How a dispatcher run used the queue: claim calls and rows, group commits and results. */
export interface QueueShape {
  claimCalls: number
  claimedRows: number
  flushes: number
  flushedRows: number
  /** The dispatcher moved its claims and commits to its queue thread (not counted above). */
  queueThread?: boolean
}

export function emptyShape(): QueueShape {
  return {claimCalls: 0, claimedRows: 0, flushes: 0, flushedRows: 0}
}

/**
 * Wraps this bench's own store to count claimDue and recordResults calls (a few thousand
 * calls at nanoseconds each: no visible cost); src/ is untouched.
 */
export function countQueueCalls(store: Store): QueueShape {
  const shape = emptyShape()
  const {claimDue, recordResults} = store.deliveries
  store.deliveries.claimDue = (params) => {
    const claimed = claimDue(params)
    shape.claimCalls++
    shape.claimedRows += claimed.length
    return claimed
  }
  store.deliveries.recordResults = (results, now) => {
    shape.flushes++
    shape.flushedRows += results.length
    return recordResults(results, now)
  }
  return shape
}

/** "850 claims of 117.6 rows, 782 group commits of 127.9 results" */
export function describeShape(shape: QueueShape): string {
  const n = (value: number) => value.toLocaleString('en-GB')
  const average = (rows: number, calls: number) => (calls ? rows / calls : 0).toFixed(1)
  const here = `${n(shape.claimCalls)} claimDue calls of ${average(shape.claimedRows, shape.claimCalls)} rows on average, ${n(shape.flushes)} group commits of ${average(shape.flushedRows, shape.flushes)} results`
  return shape.queueThread ? `${here} on the dispatcher's connection, then its queue thread took over the rest` : here
}
