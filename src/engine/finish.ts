import type {Store} from '../store/index.js'
import {transition} from '../core/lifecycle.js'

/**
 * Moves announcements whose deliveries are all final from `sending` to `sent`, or to
 * `sent_with_failures` when any ended dead, unknown or expired — or to `expired` when they all
 * expired before any could go (it reached no one; "sent" would say otherwise); one cancelled
 * while going out gets its send result recorded. Call inside a transaction.
 */
export function finishAnnouncementsIfDone(store: Store, announcementIds: Iterable<string>, now: number): void {
  for (const id of announcementIds) {
    // Pending first: one indexed EXISTS, where reading the announcement parses its variants
    // (asked on every group commit of a broadcast still under way).
    if (store.deliveries.hasPending(id)) continue
    const announcement = store.announcements.get(id)
    // Cancelled while it was going out: its last sends have settled now.
    if (announcement?.state === 'cancelled') store.announcements.recordCancelledResult(id, now)
    if (!announcement || announcement.state !== 'sending') continue
    const event = !store.deliveries.hasTrouble(id) ? 'finish' : store.deliveries.allExpired(id) ? 'expire' : 'finish-with-failures'
    store.announcements.setState(id, transition('sending', event), now)
  }
}
