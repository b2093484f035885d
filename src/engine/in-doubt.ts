import type {Config} from '../config/load.js'
import {channelsSetAside} from '../config/missing-secrets.js'
import {redact} from '../config/secrets.js'
import type {HttpClient} from '../channels/http.js'
import {driverFor} from '../channels/registry.js'
import {oneLine} from '../core/terminal-text.js'
import type {Store} from '../store/index.js'
import type {AttemptResult, LeasedDelivery} from '../store/deliveries.js'
import {finishAnnouncementsIfDone, settleLateAnswers} from './finish.js'
import {bootOfOwner, isAbandonedOwner} from './lease-owner.js'
import {DeliveryContext} from './send-context.js'
import {forgetStartedSends, ownersWithStartedSends, readStartedSends, startKey} from './started-sends.js'

// A delivery left `sending` by a process that died (its lease ran out, or its pid is gone) may
// or may not have gone out. Never re-send blindly: requeue it only when the driver's sends are
// idempotent, ask the provider where the driver can reconcile, and otherwise mark it `unknown`
// for the officer to see. One its sender had claimed but, by its record of what it started
// (started-sends.ts), never began is not in doubt at all: it goes back to the queue.

export interface InDoubtOptions {
  store: Store
  config: Config
  owner: string
  now: () => number
  http: HttpClient
  signal: AbortSignal
  /** Where dispatchers record the sends they start (undefined: a database in memory). */
  startedSendsDir?: string
}

export interface InDoubtSummary {
  requeued: number
  unknown: number
  sent: number
  /** The deliveries left `unknown`, and why: each needs a person. */
  leftUnknown: Array<{id: string; channel: string; announcementId: string; reason: string}>
}

type Abandoned = LeasedDelivery

export async function resolveAbandonedLeases(options: InDoubtOptions): Promise<InDoubtSummary> {
  const {store, config, owner, now} = options
  const summary: InDoubtSummary = {requeued: 0, unknown: 0, sent: 0, leftUnknown: []}
  // A channel this process cannot use as configured (a secret missing here, settings wrong) is
  // left to one that can: this one would look up or resend with the wrong credentials, or call
  // a delivery in doubt that the right config would settle.
  const notMine = channelsSetAside(config)
  const leaveUnknown = (row: Abandoned, reason: string, at: number) => {
    if (!store.deliveries.markUnknown(row.id, row.owner, reason, at)) return
    summary.unknown++
    summary.leftUnknown.push({id: row.id, channel: row.channel, announcementId: row.announcementId, reason})
  }
  const toReconcile: Abandoned[] = []
  const startsByOwner = new Map<string, Set<string> | undefined>()
  const neverStarted = (row: Abandoned): boolean => {
    if (!row.owner) return false
    if (!startsByOwner.has(row.owner)) startsByOwner.set(row.owner, readStartedSends(options.startedSendsDir, row.owner))
    const starts = startsByOwner.get(row.owner)
    return starts !== undefined && !starts.has(startKey(row.id, row.attempts))
  }
  for (;;) {
    const at = now()
    const abandonedOwners = store.deliveries.leaseHolders().filter((holder) => isAbandonedOwner(holder.owner, owner))
    const rows = new Map<string, Abandoned>()
    for (const row of store.deliveries.expiredLeases(at, 500, notMine)) if (row.owner !== owner) rows.set(row.id, row)
    for (const holder of abandonedOwners) for (const row of store.deliveries.leasedBy(holder.owner, 500, notMine)) rows.set(row.id, row)
    if (rows.size === 0) break
    store.transaction(() => {
      const touched = new Set<string>()
      for (const row of rows.values()) {
        const channel = config.channels[row.channel]
        const driver = channel && driverFor(channel.type)
        if (driver && !driver.capabilities.idempotent && neverStarted(row)) {
          // Its sender recorded every send it began, and not this one: it did not go out.
          const state = store.deliveries.requeueUnstarted(row.id, row.owner!, 'its sender stopped before sending it; queued again', at)
          if (state === 'queued') summary.requeued++
          if (state === 'cancelled') touched.add(row.announcementId)
        } else if (!channel || !driver) {
          leaveUnknown(row, `its sender stopped mid-send and channel ${row.channel} is no longer configured`, at)
          touched.add(row.announcementId)
        } else if (row.stopReason) {
          // Cancelled or superseded while it was being sent: never sent again, but it may have
          // gone out (the Cancel goes to it).
          leaveUnknown(row, `${row.stopReason}; its sender stopped mid-send, so it may or may not have gone out`, at)
          touched.add(row.announcementId)
        } else if (driver.capabilities.idempotent && withinIdempotencyWindow(driver.capabilities.idempotencyWindowMs, row, at)) {
          const state = store.deliveries.requeue(row.id, row.owner, 'its sender stopped mid-send; requeued (the provider deduplicates by idempotency key)', at)
          if (state === 'queued') summary.requeued++
          // Stopped (cancelled, superseded) since the row was read: unknown, and maybe the last one.
          else if (state === 'unknown') {
            summary.unknown++
            touched.add(row.announcementId)
          }
        } else if (driver.reconcile) {
          if (store.deliveries.takeOverLease(row.id, row.owner, owner, at + 60_000, at)) toReconcile.push(row)
        } else {
          leaveUnknown(row, inDoubtReason(store, row), at)
          touched.add(row.announcementId)
        }
      }
      finishAnnouncementsIfDone(store, touched, at)
    })
  }
  if (toReconcile.length) await reconcile(options, toReconcile, summary)
  forgetRecordsOfTheGone(options)
  return summary
}

/** Records of start left by dispatchers that are gone and hold nothing any more. */
function forgetRecordsOfTheGone({store, owner, startedSendsDir}: InDoubtOptions): void {
  for (const recorded of ownersWithStartedSends(startedSendsDir)) {
    if (!(isAbandonedOwner(recorded, owner) || bootOfOwner(recorded) === 'earlier')) continue
    if (store.deliveries.leasedBy(recorded, 1).length === 0) forgetStartedSends(startedSendsDir, recorded)
  }
}

async function reconcile(options: InDoubtOptions, rows: Abandoned[], summary: InDoubtSummary): Promise<void> {
  const {store, config, owner, now} = options
  const results: AttemptResult[] = []
  const touched = new Set<string>()
  for (const row of rows) {
    const channel = config.channels[row.channel]!
    const driver = driverFor(channel.type)!
    const announcement = store.announcements.get(row.announcementId)!
    const startedAt = now()
    const context = new DeliveryContext({store, channel, deliveryId: row.id, announcement, signal: options.signal, http: options.http, now})
    try {
      const receipt = await driver.reconcile!(row.id, context)
      if (receipt) {
        results.push({id: row.id, owner, startedAt, durationMs: now() - startedAt, outcome: 'reconciled', nextState: 'sent', receiptId: receipt.providerId, receiptUrl: receipt.url})
        summary.sent++
        touched.add(row.announcementId)
      } else {
        // The provider has no record of it: it did not go out, so sending it is not a duplicate.
        results.push({id: row.id, owner, startedAt, durationMs: now() - startedAt, outcome: 'not-found', nextState: 'queued', dueAt: now(), refundAttempt: true})
        summary.requeued++
      }
    } catch (error) {
      const message = oneLine(redact(error instanceof Error ? error.message : String(error)))
      const reason = `in doubt and the lookup failed: ${message}`
      results.push({id: row.id, owner, startedAt, durationMs: now() - startedAt, outcome: 'transient', nextState: 'unknown', error: reason})
      summary.unknown++
      summary.leftUnknown.push({id: row.id, channel: row.channel, announcementId: row.announcementId, reason})
      touched.add(row.announcementId)
    }
  }
  store.transaction(() => {
    settleLateAnswers(store, store.deliveries.recordResults(results, now()), now())
    finishAnnouncementsIfDone(store, touched, now())
  })
}

/** Where a thread was half posted, says how far it got, so the officer checks the right post. */
function inDoubtReason(store: Store, row: Abandoned): string {
  const posted = store.deliveries.postedParts(row.id).length
  const what = posted ? `posts 1–${posted} of the thread went out; post ${posted + 1} may or may not have` : 'it may or may not have gone out'
  return `its sender stopped mid-send: ${what} — check ${row.channel} before sending again`
}

/**
 * A provider forgets an idempotency key after a while (Mastodon: an hour). A send that began
 * longer ago than that may not be re-sent blindly: it is looked up, or left `unknown`.
 */
function withinIdempotencyWindow(windowMs: number | undefined, row: Abandoned, at: number): boolean {
  return windowMs === undefined || at - row.claimedAt < windowMs
}
