import type {Store} from '../store/index.js'
import type {LateAnswer} from '../store/deliveries.js'
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

/**
 * Deliveries another process settled `unknown` while their sender was suspended past its lease
 * (SIGSTOP, a paused VM), which that sender's late answer showed were sent. The provider's answer
 * is what a lookup would have found, so it stands; the announcement that finished with them in
 * doubt is looked at again — `sent` once nothing else failed — and the audit trail says which were
 * resolved and by whose answer, so that status, exit codes and the trail agree. Call inside the
 * transaction that recorded them.
 */
export function settleLateAnswers(store: Store, resolved: readonly LateAnswer[], now: number): void {
  const byAnnouncement = new Map<string, {channels: Record<string, number>; senders: Set<string>}>()
  for (const answer of resolved) {
    let entry = byAnnouncement.get(answer.announcementId)
    if (!entry) byAnnouncement.set(answer.announcementId, (entry = {channels: {}, senders: new Set()}))
    entry.channels[answer.channel] = (entry.channels[answer.channel] ?? 0) + 1
    entry.senders.add(answer.sender)
  }
  for (const [id, {channels, senders}] of byAnnouncement) {
    const announcement = store.announcements.get(id)
    if (!announcement) continue
    const isResolved = announcement.state === 'sent_with_failures' && !store.deliveries.hasPending(id) && !store.deliveries.hasTrouble(id)
    const state = isResolved ? transition(announcement.state, 'resolve-in-doubt') : undefined
    store.announcements.recordInDoubtResolved(id, {channels, senders: [...senders], state}, now)
  }
}
