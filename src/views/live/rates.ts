import type {LiveSnapshot} from '../../engine/live-snapshot.js'

// The current rate per channel: deliveries reaching a final state per second over the last few
// seconds of snapshots. A window smooths the group commits (results land 128 at a time) without
// hiding a channel that has stalled.

export interface RateSample {
  at: number
  /** Deliveries no longer pending, per channel. */
  done: Map<string, number>
}

export const rateWindowMs = 5000

/** The samples to keep after this snapshot: those inside the window, and the newest one before it as the base. */
export function addRateSample(samples: readonly RateSample[], snapshot: LiveSnapshot, windowMs = rateWindowMs): RateSample[] {
  const done = new Map(snapshot.channels.map((c) => [c.channel, c.total - c.queued - c.sending - c.failed]))
  const next = [...samples, {at: snapshot.at, done}]
  const cutoff = snapshot.at - windowMs
  let first = 0
  while (first + 1 < next.length && next[first + 1]!.at <= cutoff) first++
  return next.slice(first)
}

/** Per second over the samples kept; undefined until two samples a little apart exist. */
export function channelRate(samples: readonly RateSample[], channel: string): number | undefined {
  if (samples.length < 2) return undefined
  const oldest = samples[0]!
  const newest = samples[samples.length - 1]!
  const seconds = (newest.at - oldest.at) / 1000
  if (seconds < 0.5) return undefined
  const finished = (newest.done.get(channel) ?? 0) - (oldest.done.get(channel) ?? 0)
  return Math.max(0, finished) / seconds
}
