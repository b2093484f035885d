import type {Announcement} from '../core/announcement.js'
import type {CoreContext} from '../core/context.js'
import {PolicyRefusal} from '../core/errors.js'
import {shortId} from '../core/ids.js'
import {transition} from '../core/lifecycle.js'
import {supersededBy} from '../core/superseded.js'

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
 * Refused once it has been cancelled or an Update of it has gone out — its words are no longer
 * the news — and where it never went out or has expired.
 */
export function retryDeadAfterwards(ctx: CoreContext, id: string): RetryResult & {announcement: Announcement} {
  return ctx.store.transaction(() => {
    const announcement = ctx.store.announcements.get(id)!
    const name = shortId(id)
    if (announcement.state !== 'sending' && announcement.state !== 'sent_with_failures') {
      if (announcement.state === 'sent') return {announcement, requeued: 0, byChannel: {}}
      // Cancelled or expired: the lifecycle refuses, saying which.
      if (announcement.state === 'cancelled' || announcement.state === 'expired') transition(announcement.state, 'retry', name)
      throw new PolicyRefusal(`cannot retry the dead deliveries of ${name} — it has not been broadcast (it is ${announcement.state.replace('_', ' ')}): crier broadcast ${name} sends it`)
    }
    const now = ctx.now()
    if (announcement.expiresAt !== undefined && announcement.expiresAt <= now) throw new PolicyRefusal(`cannot retry the dead deliveries of ${name} — it has expired`)
    const withdrawn = whyWithdrawn(ctx, id)
    if (withdrawn) throw new PolicyRefusal(`cannot retry the dead deliveries of ${name} — ${withdrawn}`)
    if (ctx.store.dashboard.countRetryableDead(id, now) === 0) return {announcement, requeued: 0, byChannel: {}}
    if (announcement.state === 'sent_with_failures') ctx.store.announcements.setState(id, transition(announcement.state, 'retry', name), now)
    return {...retryDeadDeliveries(ctx, id), announcement: ctx.store.announcements.get(id)!}
  })
}

/**
 * Why its words are not to go anywhere now, if so: withdrawn (a Cancel drafted or gone out, or
 * cancelled where it had reached no one, which drafts no Cancel) or replaced by an Update gone out.
 */
function whyWithdrawn(ctx: CoreContext, id: string): string | undefined {
  const superseded = supersededBy(ctx, [id]).get(id)
  const cancel = superseded?.cancelledBy ?? superseded?.cancelNotSent
  if (cancel) return `it was cancelled (${shortId(cancel)})`
  if (ctx.store.audit.latestOf(id, 'cancelled', 1).length) return 'it was cancelled'
  if (superseded?.updatedBy) return `it was updated by ${shortId(superseded.updatedBy)} since, so its words are no longer the news`
  return undefined
}
