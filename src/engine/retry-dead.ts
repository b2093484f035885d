import type {CoreContext} from '../core/context.js'

/** What the live view's `r` did: how many dead deliveries went back to the queue, per channel. */
export interface RetryResult {
  requeued: number
  byChannel: Record<string, number>
}

/**
 * Requeues the announcement's dead deliveries that died of transient failures (attempts used
 * up on timeouts, 5xx, resets), with a fresh set of attempts, while it is still sending. Those a
 * provider refused stay dead, and unknown ones are never re-sent blindly (store/dashboard.ts).
 * Whoever is sending (this process, crier run, a worker) picks them up.
 */
export function retryDeadDeliveries(ctx: CoreContext, announcementId: string): RetryResult {
  const byChannel = ctx.store.dashboard.requeueRetryableDead(announcementId, ctx.user, ctx.now())
  return {requeued: [...byChannel.values()].reduce((n, count) => n + count, 0), byChannel: Object.fromEntries(byChannel)}
}
