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

/** The counts that add up across channels (announcements do not: one may go to several). */
const countKeys = ['deliveries', 'sent', 'pending', 'dead', 'unknown', 'expired', 'skipped', 'cancelled', 'tries', 'failedTries'] as const
type CountKey = (typeof countKeys)[number]

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
  return store.snapshot(() => readReport(store, options))
}

function readReport(store: Store, options: {since?: number; until: number}): DeliveryReport {
  const window: ReportWindow = {since: options.since ?? 0, until: options.until}
  const tallies = store.reports.tallies(window)
  const latencies = latenciesOf(store, window, tallies)
  const channels = tallies.map((tally) => channelReport(tally, latencies.get(tally.channel) ?? null))
  const total: Omit<ChannelReport, 'channel'> = {
    announcements: store.reports.announcementCount(window),
    ...(Object.fromEntries(countKeys.map((key) => [key, channels.reduce((n, c) => n + c[key], 0)])) as Record<CountKey, number>),
    latencyMs: latencies.get(allChannels) ?? null,
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

const allChannels = Symbol('all channels')

/**
 * Nearest-rank percentiles per channel and over all, in one pass over the sent deliveries'
 * times in order: a report over a million deliveries sorts once and never holds a million
 * numbers.
 */
function latenciesOf(store: Store, window: ReportWindow, tallies: ChannelTally[]): Map<string | typeof allChannels, Latency> {
  const rank = (fraction: number, count: number) => Math.max(1, Math.ceil(fraction * count))
  const trackers = new Map<string | typeof allChannels, {seen: number; median: number; p95: number; latency: Latency}>()
  const track = (key: string | typeof allChannels, sent: number) => {
    if (sent > 0) trackers.set(key, {seen: 0, median: rank(0.5, sent), p95: rank(0.95, sent), latency: {median: 0, p95: 0, max: 0}})
  }
  for (const tally of tallies) track(tally.channel, tally.states.sent ?? 0)
  track(allChannels, tallies.reduce((n, tally) => n + (tally.states.sent ?? 0), 0))
  const total = trackers.get(allChannels)
  for (const [channel, ms] of store.reports.sentLatencies(window)) {
    for (const tracker of [trackers.get(channel), total]) {
      if (!tracker) continue
      tracker.seen++
      if (tracker.seen === tracker.median) tracker.latency.median = ms
      if (tracker.seen === tracker.p95) tracker.latency.p95 = ms
      tracker.latency.max = ms
    }
  }
  return new Map([...trackers].map(([key, tracker]) => [key, tracker.latency]))
}
