import type {Store} from '../store/index.js'
import type {AttemptResult, ClaimedDelivery} from '../store/deliveries.js'
import type {AudienceMember} from '../store/subscribers.js'
import {finishAnnouncementsIfDone, settleLateAnswers} from './finish.js'

// The dispatcher's two hot writes, as plain functions of a store so that they run the same on
// the dispatcher's own connection or on a queue thread's (queue-writer.ts): claiming due
// deliveries under a lease, and recording what the sends did.

/**
 * A claimed delivery; one for a subscriber carries them as they were at the claim (looked up in
 * the claim's transaction), undefined when they have been removed since the fan-out.
 */
export type Claimed = ClaimedDelivery & {audience?: AudienceMember; leaseUntil?: number}

/** What one channel asks of a claim. */
export interface ClaimRequest {
  channel: string
  limit: number
  leaseUntil: number
  /** Sends per second from config, shared with every process through the store's token bucket. */
  ratePerSecond?: number
  /** Only this announcement's deliveries (a waiting broadcast or cancel sends its own, not the queue's backlog). */
  announcementId?: string
}

export interface ChannelClaim {
  claimed: Claimed[]
  /** Fewer were due than asked: nothing more is due now. */
  short: boolean
  /** The rate allows no more yet: when the next token comes (ms). */
  tokenWaitMs: number
}

/** Results buffered for the next group commit. */
export interface PendingWrites {
  results: AttemptResult[]
  /** Announcements with a delivery that reached a final state. */
  finished: string[]
  /** Contacts a provider reported as unsubscribed. */
  optOuts: Array<{contact: string; how: string}>
}

/**
 * Claims for each request in one BEGIN IMMEDIATE transaction, writing `pending` in it too (one
 * commit, one fsync). The claimed rows may be sent only after this returns: a claim rolled back
 * (busy, disk full) must not be sent, since another process may claim it next.
 */
export function claimForChannels(store: Store, owner: string, now: number, requests: ClaimRequest[], pending?: PendingWrites): ChannelClaim[] {
  return store.transaction(() => {
    if (pending) writePending(store, pending, now)
    return requests.map((request) => {
      let want = request.limit
      let tokenWaitMs = 0
      if (request.ratePerSecond) {
        // Tokens are taken at claim time, in the claim's transaction: two processes together
        // keep the configured rate. Tokens not used by the claim go back.
        const taken = store.deliveries.takeRateTokens(request.channel, request.ratePerSecond, want, now)
        want = taken.granted
        tokenWaitMs = taken.waitMs
      }
      const claimed: Claimed[] = want > 0 ? store.deliveries.claimDue({channel: request.channel, owner, now, leaseUntil: request.leaseUntil, limit: want, announcementId: request.announcementId}) : []
      attachAudience(store, claimed)
      if (request.ratePerSecond && claimed.length < want) store.deliveries.returnRateTokens(request.channel, want - claimed.length)
      return {claimed, short: claimed.length < want, tokenWaitMs}
    })
  })
}

/** Writes results in one transaction, and finishes the announcements that are now done. */
export function writeResults(store: Store, pending: PendingWrites, now: number): void {
  store.transaction(() => writePending(store, pending, now))
}

function writePending(store: Store, {results, finished, optOuts}: PendingWrites, now: number): void {
  settleLateAnswers(store, store.deliveries.recordResults(results, now), now)
  for (const optOut of optOuts) store.subscribers.optOut(optOut.contact, optOut.how, now)
  finishAnnouncementsIfDone(store, finished, now)
}

/** Looks up the subscribers of per-recipient deliveries, in one query per claim. */
function attachAudience(store: Store, claimed: Claimed[]): void {
  const ids: string[] = []
  for (const delivery of claimed) if (delivery.recipient !== null) ids.push(delivery.recipient)
  if (ids.length === 0) return
  const members = store.subscribers.audience(ids)
  for (const delivery of claimed) if (delivery.recipient !== null) delivery.audience = members.get(delivery.recipient)
}
