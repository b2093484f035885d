import type {Announcement} from '../core/announcement.js'
import type {CoreContext} from '../core/context.js'
import {PolicyRefusal, UsageError} from '../core/errors.js'
import {newId, shortId} from '../core/ids.js'
import {transition} from '../core/lifecycle.js'
import {approvalStatus} from '../core/policy/approvals.js'
import {blockingFindings, checkPolicy, type Finding} from '../core/policy/check.js'
import {driverOf, referencedBy, renderForAllChannels} from '../core/render.js'
import {mustGet} from '../core/approval.js'
import {channelLimits} from '../config/load.js'
import {deliveryPriority} from './priority.js'
import {finishAnnouncementsIfDone} from './finish.js'

export interface FanOutResult {
  announcement: Announcement
  findings: Finding[]
  /** Deliveries created (0 on a dry run). */
  queued: number
  dryRun: boolean
}

/**
 * Checks lifecycle, approvals and policy, then creates every delivery (announcement × channel,
 * × subscriber for email and SMS) and marks the announcement `sending`, all in one transaction:
 * either all of it is queued or nothing is. A dry run does every check and render and writes
 * nothing.
 */
export interface FanOutOptions {
  dryRun?: boolean
  /** An occurrence of a recurring schedule: the approvals that count are its template's. */
  approvedAs?: string
}

export function fanOut(ctx: CoreContext, id: string, options: FanOutOptions = {}): FanOutResult {
  const run = () => {
    const announcement = mustGet(ctx, id)
    const now = ctx.now()
    const next = transition(announcement.state, 'start-sending', shortId(id))
    const approvedAnnouncement = options.approvedAs ? mustGet(ctx, options.approvedAs) : announcement
    const approvals = approvalStatus(approvedAnnouncement, ctx.store.announcements.approvals(approvedAnnouncement.id), ctx.config.policy)
    if (!approvals.satisfied) {
      throw new PolicyRefusal(
        `${shortId(id)} (${announcement.severity}) needs ${approvals.required} approval${approvals.required === 1 ? '' : 's'} by someone other than its author and has ${approvals.valid.length} — ask another officer to run crier approve ${shortId(id)}`,
      )
    }
    const findings = checkPolicy(announcement, ctx.config, renderForAllChannels(announcement, ctx.config, {referenced: referencedBy(announcement, ctx.store.announcements.get)}), now)
    const blocking = blockingFindings(findings)
    if (blocking.length) throw new PolicyRefusal(`refused by policy — ${blocking.map((f) => f.message).join('; ')}`)
    if (options.dryRun) return {announcement, findings, queued: 0, dryRun: true}

    const priority = deliveryPriority(announcement)
    let queued = 0
    for (const name of announcement.channels) {
      const channel = ctx.config.channels[name]!
      const driver = driverOf(channel)
      if (driver.kind === 'per-recipient') {
        const list = String(channel.audience)
        if (ctx.store.subscribers.audienceSize(list) === 0) {
          throw new UsageError(`channel ${name}: audience "${list}" has no subscribers — import them with crier subscribers import FILE --list ${list}`)
        }
        queued += ctx.store.deliveries.fanOutAudience({
          announcementId: id,
          channel: name,
          list,
          contact: driver.capabilities.contact ?? 'email',
          priority,
          expiresAt: announcement.expiresAt ?? null,
          maxAttempts: channelLimits(channel).maxAttempts,
          now,
        }).queued
        continue
      }
      queued++
      ctx.store.deliveries.insert(
        {
          id: newId(now),
          announcementId: id,
          channel: name,
          recipient: null,
          priority,
          dueAt: now,
          expiresAt: announcement.expiresAt ?? null,
          maxAttempts: channelLimits(channel).maxAttempts,
        },
        now,
      )
    }
    ctx.store.announcements.setState(id, next, now)
    // Everyone opted out or unreachable: nothing will be sent, so it is finished now.
    finishAnnouncementsIfDone(ctx.store, [id], now)
    return {announcement: ctx.store.announcements.get(id)!, findings, queued, dryRun: false}
  }
  return options.dryRun ? run() : ctx.store.transaction(run)
}
