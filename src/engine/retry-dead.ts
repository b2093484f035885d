import type {Announcement} from '../core/announcement.js'
import type {CoreContext} from '../core/context.js'
import {PolicyRefusal, UsageError} from '../core/errors.js'
import {shortId} from '../core/ids.js'
import {transition} from '../core/lifecycle.js'

/** Dead deliveries sent back to the queue: how many, per channel. */
export interface RetryResult {
  requeued: number
  byChannel: Record<string, number>
}

/**
 * Requeues the announcement's dead deliveries that died of transient failures (attempts used
 * up on timeouts, 5xx, resets), with a fresh set of attempts, while it is still sending (the
 * live view's `r`). Those a provider refused stay dead, and unknown ones are never re-sent
 * blindly (store/dashboard.ts). Whoever is sending (this process, crier run, a worker) picks
 * them up.
 */
export function retryDeadDeliveries(ctx: CoreContext, announcementId: string): RetryResult {
  const byChannel = ctx.store.dashboard.requeueRetryableDead(announcementId, ctx.user, ctx.now())
  return {requeued: [...byChannel.values()].reduce((n, count) => n + count, 0), byChannel: Object.fromEntries(byChannel)}
}

/**
 * `broadcast ID --retry-dead`: the same, and after the announcement has finished with failures
 * too (an outage that outlasted the attempts is over): it is sending again until they settle.
 * Refused once an Update or Cancel has gone out after it — its words are no longer the news —
 * and where it never went out or has expired.
 */
export function retryDeadAfterwards(ctx: CoreContext, id: string): RetryResult & {announcement: Announcement} {
  return ctx.store.transaction(() => {
    const announcement = ctx.store.announcements.get(id)!
    const name = shortId(id)
    if (announcement.state !== 'sending' && announcement.state !== 'sent_with_failures') {
      if (announcement.state === 'sent') return {announcement, requeued: 0, byChannel: {}}
      if (announcement.state === 'cancelled' || announcement.state === 'expired') transition(announcement.state, 'retry', name)
      throw new UsageError(`${name} has not been broadcast (it is ${announcement.state.replace('_', ' ')}): there is nothing to retry — crier broadcast ${name} sends it`)
    }
    const now = ctx.now()
    if (announcement.expiresAt !== undefined && announcement.expiresAt <= now) throw new PolicyRefusal(`cannot retry the dead deliveries of ${name} — it has expired`)
    const followedBy = ctx.store.announcements.followUpsOf([id]).find((follow) => ['scheduled', 'sending', 'sent', 'sent_with_failures'].includes(follow.state))
    if (followedBy) {
      throw new PolicyRefusal(`cannot retry the dead deliveries of ${name} — ${followedBy.msgType === 'Cancel' ? 'it was cancelled' : 'it was updated'} by ${shortId(followedBy.id)} since, so its words are no longer the news`)
    }
    if (ctx.store.dashboard.countRetryableDead(id, now) === 0) return {announcement, requeued: 0, byChannel: {}}
    if (announcement.state === 'sent_with_failures') ctx.store.announcements.setState(id, transition(announcement.state, 'retry', name), now)
    return {...retryDeadDeliveries(ctx, id), announcement: ctx.store.announcements.get(id)!}
  })
}
