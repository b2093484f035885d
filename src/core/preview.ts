import type {RenderedPart} from '../channels/driver.js'
import type {Announcement} from './announcement.js'
import type {CoreContext} from './context.js'
import {approvalsOf} from './approval.js'
import type {ApprovalStatus} from './policy/approvals.js'
import type {Finding} from './policy/check.js'
import {judgeAnnouncement} from './policy/judge.js'
import {areaReachOf, emptyAudienceProblems, type AreaReach} from './area-reach.js'

export interface ChannelPreview {
  channel: string
  type: string
  /** A per-recipient channel of a bilingual announcement: what readers of this language get. */
  language?: string
  parts: RenderedPart[]
}

export interface Preview {
  announcement: Announcement
  channels: ChannelPreview[]
  findings: Finding[]
  approvals: ApprovalStatus
  /** Geo-targeting: who the area takes in on each per-recipient channel. */
  targeting: AreaReach[]
}

/** Exactly what each channel will publish, the policy findings and where approval stands. */
export function previewAnnouncement(ctx: CoreContext, announcement: Announcement, onlyChannels?: string[]): Preview {
  // A scheduled announcement is judged (quiet hours, expiry horizon) when it will go out, as schedule judged it.
  const nextDue = ctx.store.schedules.activeFor(announcement.id)?.nextDueAt
  const judged = judgeAnnouncement(ctx, announcement, ctx.now(), nextDue ? {sendAt: [nextDue]} : {})
  const {renderings} = judged
  // Not policy, but as blocking: broadcast and schedule refuse it (exit 2).
  const findings = [...judged.findings, ...emptyAudienceProblems(ctx, announcement).map((message): Finding => ({level: 'error', rule: 'empty-audience', message}))]
  const only = onlyChannels && new Set(onlyChannels)
  const shown = renderings.filter((r) => !only || only.has(r.channel.name))
  return {
    announcement,
    channels: shown.map((r) => ({channel: r.channel.name, type: r.channel.type, ...(r.language && {language: r.language}), parts: r.rendered.parts})),
    findings: only ? findings.filter((f) => !f.channel || only.has(f.channel)) : findings,
    approvals: approvalsOf(ctx, announcement),
    targeting: areaReachOf(ctx, announcement).filter((reach) => !only || only.has(reach.channel)),
  }
}
