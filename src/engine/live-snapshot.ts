import {primaryVariant, type CapStatus, type LifecycleState, type MsgType, type Severity} from '../core/announcement.js'
import {RuntimeFailure} from '../core/errors.js'
import type {Store} from '../store/index.js'
import {pendingStates, troubleStates, unsentStates, type ChannelCounts, type DeliveryState} from '../store/deliveries.js'

// What the live view shows, read from the store as plain data: per channel, how many of the
// announcement's deliveries are in each state, and the latest error. Read the same way whether
// this process sends or another one does (crier run, a worker). Each read is cheap (see
// src/store/dashboard.ts): index range counts of the unsent states, and only the attempts
// written since the previous read.

/** One channel's deliveries of the announcement, by state; lastError as stored: strip it before display. */
export type ChannelProgress = Omit<ChannelCounts, 'retries'>

/** The announcement's delivery, as of `at`. */
export interface LiveSnapshot {
  at: number
  announcement: {id: string; severity: Severity; status: CapStatus; msgType: MsgType; headline: string; state: LifecycleState}
  /** When its deliveries were created (the broadcast began); null before. */
  startedAt: number | null
  channels: ChannelProgress[]
  /** Deliveries not final yet: queued, sending, or failed awaiting a retry. */
  pending: number
  /** Dead, unknown or expired: what the officer must look at (exit code 4). */
  trouble: number
  /** Dead deliveries the view's `r` would requeue (they died of transient failures). */
  retryableDead: number
  /** Every delivery has reached a final state (and there is at least one). */
  isFinal: boolean
}

export interface LiveSnapshotReader {
  read(): LiveSnapshot
}

/** At the first read, errors are looked for among this many of the newest attempts. */
const lookBackAttempts = 20_000

/**
 * A reader of one announcement's progress. It keeps what does not change between reads (the
 * channel totals: every delivery is created in one fan-out transaction) and a cursor into the
 * attempts, so each read costs little however large the broadcast.
 */
export function liveSnapshotReader(store: Store, announcementId: string, now: () => number = Date.now): LiveSnapshotReader {
  let totals: Map<string, number> | undefined
  let startedAt: number | null = null
  let attemptCursor = -1
  const lastErrors = new Map<string, string>()
  let previous = new Map<string, ChannelProgress>()
  let retryableDead = 0
  let deadSeen = -1

  const readOnce = (): LiveSnapshot => {
    const at = now()
    const announcement = store.announcements.get(announcementId)
    if (!announcement) throw new RuntimeFailure(`announcement ${announcementId} is no longer in the database — was it restored from a backup?`)
    const names = [...announcement.channels].sort((a, b) => a.localeCompare(b))
    if (!totals || totals.size === 0) {
      // Until the fan-out there is nothing to count; after it, the totals never change.
      totals = new Map()
      const all = store.dashboard.countsInStates(announcementId, names, ['sent', ...unsentStates])
      for (const {channel, count} of all) totals.set(channel, (totals.get(channel) ?? 0) + count)
      if ([...totals.values()].every((n) => n === 0)) totals = new Map()
      startedAt = store.dashboard.fannedOutAt(announcementId)
    }
    const channels = new Map<string, ChannelProgress>()
    for (const name of names) {
      channels.set(name, {channel: name, total: totals.get(name) ?? 0, queued: 0, sending: 0, sent: 0, failed: 0, dead: 0, unknown: 0, skipped: 0, expired: 0, cancelled: 0, lastError: null, lastErrorState: null})
    }
    if (totals.size > 0) {
      for (const {channel, state, count} of store.dashboard.countsInStates(announcementId, names, unsentStates)) channels.get(channel)![state] += count
      for (const progress of channels.values()) {
        progress.sent = Math.max(0, progress.total - unsentStates.reduce((n, state) => n + progress[state], 0))
      }
    }
    readErrors(channels)
    const deadNow = sum(channels, ['dead'])
    if (deadNow !== deadSeen) {
      retryableDead = deadNow === 0 ? 0 : store.dashboard.countRetryableDead(announcementId, at)
      deadSeen = deadNow
    }
    for (const progress of channels.values()) progress.lastError = lastErrors.get(progress.channel) ?? null
    previous = channels
    const pending = sum(channels, pendingStates)
    const total = [...channels.values()].reduce((n, c) => n + c.total, 0)
    return {
      at,
      announcement: {id: announcement.id, severity: announcement.severity, status: announcement.status, msgType: announcement.msgType, headline: primaryVariant(announcement).headline, state: announcement.state},
      startedAt,
      channels: [...channels.values()],
      pending,
      trouble: sum(channels, troubleStates),
      retryableDead,
      isFinal: total > 0 && pending === 0,
    }
  }

  const readErrors = (channels: Map<string, ChannelProgress>) => {
    const upTo = store.dashboard.latestAttemptId()
    if (attemptCursor < 0) attemptCursor = Math.max(0, upTo - lookBackAttempts)
    if (upTo > attemptCursor) {
      for (const attempt of store.dashboard.failedAttemptsBetween(announcementId, attemptCursor, upTo)) lastErrors.set(attempt.channel, attempt.error)
      attemptCursor = upTo
    }
    for (const progress of channels.values()) {
      // A delivery's own error says more than its last attempt's ("gave up after 5 attempts: …"),
      // and unknown or expired ones have no attempt for it: when one of these counts grows, that
      // error is the news.
      const before = previous.get(progress.channel)
      for (const state of troubleStates) {
        if (progress[state] <= (before?.[state] ?? 0)) continue
        const error = store.dashboard.standingError(announcementId, progress.channel, state)
        if (error) lastErrors.set(progress.channel, error)
      }
      if (!lastErrors.has(progress.channel) && progress.failed > 0) {
        const error = store.dashboard.standingError(announcementId, progress.channel, 'failed')
        if (error) lastErrors.set(progress.channel, error)
      }
    }
  }

  // One read transaction: every count, the cursor and the errors as of the same moment.
  return {read: () => store.snapshot(readOnce)}
}

function sum(channels: Map<string, ChannelProgress>, states: readonly DeliveryState[]): number {
  let n = 0
  for (const progress of channels.values()) for (const state of states) n += progress[state]
  return n
}
