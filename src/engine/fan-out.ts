import type {Announcement} from '../core/announcement.js'
import type {CoreContext} from '../core/context.js'
import {PolicyRefusal, UsageError} from '../core/errors.js'
import {newId, shortId} from '../core/ids.js'
import {transition} from '../core/lifecycle.js'
import {approvalSeverity, approvalShortfall, contentHash} from '../core/policy/approvals.js'
import {checkOverride, type OverrideRequest} from '../core/policy/override.js'
import {blockingFindings, type Finding} from '../core/policy/check.js'
import {judgeAnnouncement} from '../core/policy/judge.js'
import {driverOf} from '../core/render.js'
import {approvalsOf, mustGet, refuseRejected} from '../core/approval.js'
import {refuseStaleUpdate, threadOf} from '../core/follow-up.js'
import {channelLimits} from '../config/load.js'
import {requireSecretsFor} from '../config/missing-secrets.js'
import {deliveryPriority} from './priority.js'
import {finishAnnouncementsIfDone} from './finish.js'
import {isTargeted} from '../core/area-targeting.js'
import {areaReachOf, emptyAudienceProblems, unreachedByArea, type AreaReach} from '../core/area-reach.js'

export interface FanOutResult {
  announcement: Announcement
  findings: Finding[]
  /** Deliveries created (0 on a dry run). */
  queued: number
  dryRun: boolean
  /** It went (or, on a dry run, would go) by emergency override, without its remaining approvals. */
  overridden?: boolean
  /** Per-recipient channels narrowed to the announcement's area: who it takes in, who it cannot place. */
  targeting: AreaReach[]
  /** An Update: its original's deliveries not yet sent that it stopped, since they carry the words it replaces. */
  /** The original's deliveries it stopped unsent, and those a sender held (on the wire finish; the rest are let go unsent). */
  superseded?: {id: string; stopped: number; held: number}
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
  /** Emergency override: send without the remaining approvals where policy allows; recorded, flagged until reviewed. */
  override?: OverrideRequest
  /** Sent from here (broadcast): refused, naming the variable, where this shell lacks a channel's secret. */
  requireSecrets?: boolean
}

export function fanOut(ctx: CoreContext, id: string, options: FanOutOptions = {}): FanOutResult {
  const run = () => {
    const announcement = mustGet(ctx, id)
    const now = ctx.now()
    const schedule = ctx.store.schedules.activeFor(id)
    if (schedule?.kind === 'cron') {
      // Sent itself, it would leave its schedule firing with nothing left to unschedule.
      throw new UsageError(`${shortId(id)} is the template of a recurring schedule (cron "${schedule.cron}" ${schedule.timeZone}): its occurrences go out, each its own announcement, not it — to send it now as a one-off, crier unschedule ${shortId(id)} first`)
    }
    const next = transition(announcement.state, 'start-sending', shortId(id))
    refuseStaleUpdate(ctx, announcement)
    refuseRejected(ctx, announcement, 'send')
    const approvedAnnouncement = options.approvedAs ? mustGet(ctx, options.approvedAs) : announcement
    const approvals = approvalsOf(ctx, approvedAnnouncement)
    // Checked even when the approvals are there: an override policy forbids is refused, not quietly ignored.
    // An Update of an Extreme alert is as grave as the alert, whatever its own severity.
    const severity = approvalSeverity(announcement, approvals)
    const overrideReason = options.override ? checkOverride(announcement, ctx.config.policy, options.override, severity) : undefined
    const overridden = overrideReason !== undefined && !approvals.satisfied
    if (!approvals.satisfied && !overridden) {
      throw new PolicyRefusal(`${approvalShortfall(announcement, approvals, 'be sent')}${overrideHint(announcement, severity, ctx)}`)
    }
    const {findings} = judgeAnnouncement(ctx, announcement, now, options.approvedAs ? {occurrenceOf: options.approvedAs} : {})
    const blocking = blockingFindings(findings)
    if (blocking.length) throw new PolicyRefusal(`refused by policy — ${blocking.map((f) => f.message).join('; ')}`)
    const [emptyAudience] = emptyAudienceProblems(ctx, announcement)
    if (emptyAudience) throw new UsageError(emptyAudience)
    const targeting = checkedAreaReach(ctx, announcement)
    if (options.requireSecrets && !options.dryRun) requireSecretsFor(ctx.config, announcement.channels)
    if (options.dryRun) return {announcement, findings, queued: 0, dryRun: true, overridden, targeting}
    if (overridden) {
      ctx.store.announcements.recordOverride(id, {by: ctx.user, reason: overrideReason, at: now, contentHash: contentHash(announcement)}, {approvalsRequired: approvals.required, approvalsValid: approvals.valid.length})
    }

    const priority = deliveryPriority(announcement)
    const targetArea = isTargeted(announcement.area) ? JSON.stringify(announcement.area) : null
    let queued = 0
    for (const name of announcement.channels) {
      const channel = ctx.config.channels[name]!
      const driver = driverOf(channel)
      if (driver.kind === 'per-recipient') {
        const list = String(channel.audience)
        const audience = {
          announcementId: id,
          channel: name,
          list,
          contact: driver.capabilities.contact ?? 'email',
          priority,
          expiresAt: announcement.expiresAt ?? null,
          maxAttempts: channelLimits(channel).maxAttempts,
          now,
          area: targetArea,
        } as const
        // A Cancel goes to those the cancelled message reached on this channel, not to everyone.
        if (announcement.msgType === 'Cancel' && announcement.references) {
          queued += ctx.store.deliveries.fanOutReached({...audience, thread: threadOf(ctx, announcement.references)})
          continue
        }
        queued += ctx.store.deliveries.fanOutAudience(audience).queued
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
    ctx.store.announcements.recordChannelTypes(id, Object.fromEntries(announcement.channels.map((name) => [name, ctx.config.channels[name]!.type])))
    ctx.store.announcements.setState(id, next, now)
    // Sent now, it is not due again later: its one-off schedule ends.
    if (schedule?.kind === 'once') ctx.store.schedules.end(schedule.id, now, `sent now by ${ctx.user} (crier broadcast)`)
    const superseded = supersedeOriginal(ctx, announcement, now)
    // Everyone opted out or unreachable: nothing will be sent, so it is finished now.
    finishAnnouncementsIfDone(ctx.store, superseded ? [id, superseded.id] : [id], now)
    return {announcement: ctx.store.announcements.get(id)!, findings, queued, dryRun: false, overridden, targeting, ...(superseded && {superseded})}
  }
  return options.dryRun ? run() : ctx.store.transaction(run)
}

/**
 * An Update going out stops what of its original has not gone yet where the Update goes (same
 * channel, same recipient): nobody should get the old words after, or instead of, the new ones.
 * Sends in flight finish; channels and people the Update does not reach keep the original.
 */
function supersedeOriginal(ctx: CoreContext, update: Announcement, now: number): {id: string; stopped: number; held: number} | undefined {
  if (update.msgType !== 'Update' || !update.references) return undefined
  const {stopped, held} = ctx.store.deliveries.supersedeUndelivered(update.references, update.id, `superseded by Update ${shortId(update.id)}`, now)
  if (stopped > 0 || held > 0) ctx.store.announcements.recordSuperseded(update.references, {by: update.id, stopped, ...(held > 0 && {held})}, now)
  return {id: update.references, stopped, held}
}

/** An area that takes in nobody on a channel is refused, rather than sent to no one there unnoticed. */
function checkedAreaReach(ctx: CoreContext, announcement: Announcement): AreaReach[] {
  const reach = areaReachOf(ctx, announcement)
  const [unreached] = unreachedByArea(reach)
  if (unreached) throw new UsageError(unreached)
  return reach
}

/** Where policy allows an override for this announcement, the refusal says how. */
function overrideHint(announcement: Announcement, severity: Announcement['severity'], ctx: CoreContext): string {
  if (severity !== 'Extreme' || !ctx.config.policy.emergencyOverride.allowed) return ''
  return `, or if it cannot wait: crier broadcast ${shortId(announcement.id)} --override --reason "…"`
}
