import type {Store} from '../store/index.js'
import type {ChannelTally, ReportWindow} from '../store/reports.js'

// crier report: what went out in a window of time and how fast — per channel, the deliveries
// by outcome, the tries it took, and the time from queued to sent (median, 95th percentile,
// slowest) — for the chief officer's "did it reach people, and how quickly?".

/** Queued-to-sent time of the sent deliveries (ms). */
export interface Latency {
  median: number
  p95: number
  max: number
}

export interface ChannelReport {
  channel: string
  announcements: number
  deliveries: number
  sent: number
  /** Queued, being sent, or waiting to retry. */
  pending: number
  dead: number
  unknown: number
  expired: number
  skipped: number
  cancelled: number
  tries: number
  failedTries: number
  /** Null when nothing was sent. */
  latencyMs: Latency | null
}

export interface DeliveryReport {
  /** Null: from the first delivery. */
  since: number | null
  until: number
  announcements: number
  channels: ChannelReport[]
  total: Omit<ChannelReport, 'channel'>
}

export function deliveryReport(store: Store, options: {since?: number; until: number}): DeliveryReport {
  // One read snapshot (WAL): counts and times agree even while a worker is sending.
  return store.db.transaction(() => readReport(store, options)).deferred()
}

function readReport(store: Store, options: {since?: number; until: number}): DeliveryReport {
  const window: ReportWindow = {since: options.since ?? 0, until: options.until}
  const channels = store.reports.tallies(window).map((tally) => channelReport(tally, latencyOf(store, window, tally.channel, tally.states.sent ?? 0)))
  const sent = channels.reduce((n, c) => n + c.sent, 0)
  const total: Omit<ChannelReport, 'channel'> = {
    announcements: store.reports.announcementCount(window),
    deliveries: sum(channels, 'deliveries'),
    sent,
    pending: sum(channels, 'pending'),
    dead: sum(channels, 'dead'),
    unknown: sum(channels, 'unknown'),
    expired: sum(channels, 'expired'),
    skipped: sum(channels, 'skipped'),
    cancelled: sum(channels, 'cancelled'),
    tries: sum(channels, 'tries'),
    failedTries: sum(channels, 'failedTries'),
    latencyMs: latencyOf(store, window, null, sent),
  }
  return {since: options.since ?? null, until: options.until, announcements: total.announcements, channels, total}
}

function channelReport(tally: ChannelTally, latencyMs: Latency | null): ChannelReport {
  const state = (name: keyof ChannelTally['states']) => tally.states[name] ?? 0
  return {
    channel: tally.channel,
    announcements: tally.announcements,
    deliveries: Object.values(tally.states).reduce((n, count) => n + (count ?? 0), 0),
    sent: state('sent'),
    pending: state('queued') + state('sending') + state('failed'),
    dead: state('dead'),
    unknown: state('unknown'),
    expired: state('expired'),
    skipped: state('skipped'),
    cancelled: state('cancelled'),
    tries: tally.tries,
    failedTries: tally.failedTries,
    latencyMs,
  }
}

/**
 * Nearest-rank percentiles over the sorted times, read one at a time: a report over a million
 * deliveries never holds a million numbers.
 */
function latencyOf(store: Store, window: ReportWindow, channel: string | null, count: number): Latency | null {
  if (count === 0) return null
  const rank = (fraction: number) => Math.max(1, Math.ceil(fraction * count))
  const wanted = {median: rank(0.5), p95: rank(0.95)}
  const latency: Latency = {median: 0, p95: 0, max: 0}
  let position = 0
  for (const ms of store.reports.sentLatencies(window, channel)) {
    position++
    if (position === wanted.median) latency.median = ms
    if (position === wanted.p95) latency.p95 = ms
    latency.max = ms
  }
  return latency
}

function sum(channels: ChannelReport[], key: 'deliveries' | 'pending' | 'dead' | 'unknown' | 'expired' | 'skipped' | 'cancelled' | 'tries' | 'failedTries'): number {
  return channels.reduce((n, c) => n + c[key], 0)
}
