import {isTargeted} from '../core/area-targeting.js'
import {areaTargetsText} from '../views/area-reach-lines.js'
import {CrierCommand} from '../cli/base-command.js'
import {waitingChannelNotes} from '../cli/delivery-report.js'
import {idArg, resolveAnnouncementId} from '../cli/args.js'
import {approvalsOf, mustGet} from '../core/approval.js'
import {missedOneOff} from '../core/missed-one-off.js'
import {oneLine, stripTerminalControls} from '../core/terminal-text.js'
import {shortId} from '../core/ids.js'
import {supersededBy} from '../core/superseded.js'
import {formatSpan} from '../core/span.js'
import {announcementJson, formatTime, overrideFlag, scheduleHow, scheduleJson} from '../views/format.js'
import {channelCountsLine} from '../views/status-lines.js'

export default class Show extends CrierCommand {
  static override readsOnly = true
  static override description = 'Show one announcement with its channels, approvals and delivery state.'
  static override examples = ['<%= config.bin %> show 01JD5X']
  static override args = {id: idArg}

  async run() {
    const {args} = await this.parse(Show)
    // Reads only: a channel whose secret this shell lacks is left out, not a reason to refuse.
    const ctx = await this.context({brokenChannelsAside: true})
    const id = resolveAnnouncementId(ctx, args.id)
    const a = mustGet(ctx, id)
    const approvals = ctx.store.announcements.approvals(id)
    const status = approvalsOf(ctx, a)
    const channels = ctx.store.deliveries.countsByChannel(id)
    const superseded = supersededBy(ctx, [id]).get(id)
    const schedule = ctx.store.schedules.activeFor(id)
    const missed = schedule ? ctx.store.schedules.occurrencesOf(id).filter((o) => o.state === 'missed' && o.scheduleId === schedule.id) : []
    const missedSchedule = schedule ? undefined : missedOneOff(ctx, a)
    if (!this.jsonEnabled()) {
      const clean = stripTerminalControls
      this.log(`${a.id}  ${a.state}${a.override ? '  ' + overrideFlag(a).trim() : ''}`)
      this.log(`${a.severity} / ${a.urgency} / ${a.certainty}  ${a.category}: ${clean(a.event)}  (${a.status} ${a.msgType})`)
      for (const v of a.variants) {
        this.log(`\n[${v.language}] ${clean(v.headline)}\n${clean(v.description)}`)
        if (v.instruction) this.log(`Instruction: ${clean(v.instruction)}`)
      }
      this.log('')
      if (a.area) this.log(`Area:      ${clean(a.area.description)}`)
      if (isTargeted(a.area)) this.log(`Targets:   ${areaTargetsText(a.area)} (e-mail and SMS go only to subscribers inside)`)
      if (a.web) this.log(`Web:       ${a.web}`)
      const zone = this.timeZone()
      // A recurring one's expiry is a span: each occurrence expires that long after it goes out.
      if (schedule?.kind === 'cron' && a.expiresAt !== undefined) this.log(`Expires:   ${formatSpan(Math.max(0, a.expiresAt - schedule.createdAt))} after each occurrence`)
      else this.log(`Expires:   ${formatTime(a.expiresAt, zone)}`)
      if (schedule?.nextDueAt != null) {
        this.log(`Scheduled: ${schedule.kind === 'cron' ? 'next ' : ''}${formatTime(schedule.nextDueAt, zone)} (${scheduleHow(schedule)}), by ${schedule.createdBy}${missed.length ? ` — ${missed.length} missed (crier status)` : ''}`)
      }
      if (missedSchedule) this.log(`Missed:    its schedule for ${formatTime(missedSchedule.dueAt, zone)} — ${oneLine(missedSchedule.reason, 300)}`)
      this.log(`Author:    ${a.author}, created ${formatTime(a.createdAt, zone)}`)
      this.log(`Approvals: ${status.valid.length}/${status.required}${approvals.length ? ' (' + approvals.map((x) => x.approver).join(', ') + ')' : ''}`)
      if (a.rejectReason) this.log(`Rejected:  ${clean(a.rejectReason)}`)
      if (a.override) {
        const o = a.override
        this.log(`Override:  by ${o.by}, ${formatTime(o.at, zone)} — ${clean(o.reason) || '(no reason given)'}`)
        this.log(o.reviewedBy ? `Reviewed:  by ${o.reviewedBy}, ${formatTime(o.reviewedAt, zone)}${o.reviewNote ? ' — ' + clean(o.reviewNote) : ''}` : `Reviewed:  not yet — another officer runs crier review ${shortId(a.id)}`)
      }
      if (a.references) this.log(`${a.msgType === 'Cancel' ? 'Cancels' : 'Updates'}:   ${shortId(a.references)} (crier show ${shortId(a.references)})`)
      if (superseded?.cancelledBy) this.log(`Cancelled: by ${shortId(superseded.cancelledBy)} (crier show ${shortId(superseded.cancelledBy)})`)
      if (superseded?.cancelNotSent) this.log(`Cancelled: by ${shortId(superseded.cancelNotSent)}, which has not gone out: the public is not told yet (crier status ${shortId(superseded.cancelNotSent)})`)
      const quiet = superseded?.cancelledWithoutMessage
      if (quiet) this.log(`Cancelled: by ${clean(quiet.by)}, ${formatTime(quiet.at, zone)}${quiet.expired ? ', after it had expired' : ''} — no Cancel message was needed: nothing of it was in force`)
      if (superseded?.updatedBy) this.log(`Updated:   by ${shortId(superseded.updatedBy)}, the latest word (crier show ${shortId(superseded.updatedBy)})`)
      this.log(`Channels:  ${a.channels.join(', ')}`)
      const width = Math.max(12, ...channels.map((counts) => counts.channel.length + 2))
      for (const counts of channels) this.log('  ' + channelCountsLine(counts, width))
      for (const note of waitingChannelNotes(ctx, id)) this.logToStderr(`Note: ${note}`)
    }
    return {...announcementJson(a), ...superseded, ...scheduleJson(schedule), ...(missedSchedule && {missedSchedule}), approvals: {required: status.required, valid: status.valid.length, satisfied: status.satisfied, by: approvals.map((x) => ({approver: x.approver, approvedAt: x.approvedAt, current: status.valid.some((valid) => valid.approver === x.approver && valid.contentHash === x.contentHash)}))}, deliveries: channels}
  }
}
