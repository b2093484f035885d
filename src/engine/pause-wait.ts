import type {CoreContext} from '../core/context.js'

// A waiting broadcast whose channel a provider paused (429 with Retry-After, a daily cap): what
// it does about it. A short pause is waited out — the officer asked to wait, and the sends go
// on by themselves. A long one is not: a duty officer's terminal, or a script's step, would sit
// silent for up to an hour while nothing can be done there; the deliveries stay queued for crier
// run or a worker, as --no-wait leaves them.

/** A pause ending further off than this is not waited for. */
export const longPauseMs = 5 * 60_000

/** A provider's pause of a channel the announcement still has deliveries waiting on. */
export interface PauseHolding {
  channel: string
  pausedUntil: number
  reason: string
  /** Deliveries of the announcement on the channel not yet settled (queued, to retry, being sent). */
  pending: number
  /** Ends more than longPauseMs from now, or after the announcement expires: not waited for. */
  isLong: boolean
  /** Ends after the announcement expires: what waits on it will expire unsent. */
  outlastsExpiry: boolean
}

/**
 * The pauses holding the announcement's deliveries, and whether nothing else of it is left to
 * send — then a waiting broadcast has only long pauses to wait for, and returns instead.
 */
export function pausesHolding(ctx: CoreContext, announcementId: string): {pauses: PauseHolding[]; onlyLongPausesLeft: boolean} {
  const now = ctx.now()
  const pauses = ctx.store.deliveries.channelPauses(now)
  if (pauses.length === 0) return {pauses: [], onlyLongPausesLeft: false}
  const expiresAt = ctx.store.announcements.get(announcementId)?.expiresAt
  const pending = new Map(ctx.store.deliveries.countsByChannel(announcementId).map((counts) => [counts.channel, counts.queued + counts.failed + counts.sending]))
  const holding: PauseHolding[] = []
  for (const pause of pauses) {
    const count = pending.get(pause.channel) ?? 0
    if (count === 0) continue
    const outlastsExpiry = expiresAt !== undefined && pause.pausedUntil >= expiresAt
    holding.push({...pause, pending: count, outlastsExpiry, isLong: outlastsExpiry || pause.pausedUntil - now > longPauseMs})
  }
  const longOnes = new Set(holding.filter((pause) => pause.isLong).map((pause) => pause.channel))
  const elsewhere = [...pending].some(([channel, count]) => count > 0 && !longOnes.has(channel))
  return {pauses: holding, onlyLongPausesLeft: longOnes.size > 0 && !elsewhere}
}
