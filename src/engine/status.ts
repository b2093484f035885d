import type {Announcement} from '../core/announcement.js'
import type {CoreContext} from '../core/context.js'
import {mustGet} from '../core/approval.js'
import type {ChannelCounts} from '../store/deliveries.js'
import {isAbandonedOwner} from './lease-owner.js'

export interface AnnouncementStatus {
  announcement: Announcement
  channels: ChannelCounts[]
  /** Deliveries not yet final (queued, sending, failed awaiting retry). */
  pending: number
  /** Deliveries dead, unknown or expired: what the officer must look at. */
  trouble: number
  /**
   * Of the pending, those a crier was sending when it stopped (its process gone, or its lease run
   * out): in doubt until the next run settles them, not simply waiting to be sent.
   */
  abandoned: number
  receipts: Array<{channel: string; state: string; receiptId: string | null; receiptUrl: string | null; lastError: string | null}>
}

export function announcementStatus(ctx: CoreContext, id: string): AnnouncementStatus {
  const announcement = mustGet(ctx, id)
  const channels = ctx.store.deliveries.countsByChannel(id)
  const pending = channels.reduce((n, c) => n + c.queued + c.sending + c.failed, 0)
  const trouble = channels.reduce((n, c) => n + c.dead + c.unknown + c.expired, 0)
  const now = ctx.now()
  const abandoned = ctx.store.deliveries
    .holdersOf(id)
    .reduce((n, holder) => n + (isAbandonedOwner(holder.owner, '') || (holder.leaseUntil !== null && holder.leaseUntil <= now) ? holder.count : 0), 0)
  // Broadcast channels have one delivery each: their receipt is worth showing (URL, file).
  const receipts = ctx.store.deliveries
    .broadcastDeliveries(id)
    .map((d) => ({channel: d.channel, state: d.state, receiptId: d.receiptId, receiptUrl: d.receiptUrl, lastError: d.lastError}))
  return {announcement, channels, pending, trouble, abandoned, receipts}
}
