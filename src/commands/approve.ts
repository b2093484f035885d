import {CrierCommand} from '../cli/base-command.js'
import {idArg, resolveAnnouncementId} from '../cli/args.js'
import {approveAnnouncement} from '../core/approval.js'
import {shortId} from '../core/ids.js'
import {approvedLines} from '../views/approved-lines.js'
import {announcementJson} from '../views/format.js'

export default class Approve extends CrierCommand {
  static override description = 'Approve an announcement as CRIER_USER (or the OS user): the second pair of eyes.'
  static override examples = ['CRIER_USER=sgt.jones <%= config.bin %> approve 01JD5X']
  static override args = {id: idArg}

  async run() {
    const {args} = await this.parse(Approve)
    const ctx = await this.context()
    const id = resolveAnnouncementId(ctx, args.id)
    const {announcement, approvals, findings} = approveAnnouncement(ctx, id)
    // Only timing errors (quiet hours) let an approval through: they block sending now, not approving.
    for (const finding of findings) this.say(`Policy ${finding.level}${finding.level === 'error' ? ' if sent now' : ''}: ${finding.message}`)
    for (const line of approvedLines(announcement)) this.say(line)
    // Quiet hours now: sending now would be refused; the finding above names the time to schedule.
    const next = findings.some((f) => f.level === 'error') ? `Next: crier schedule ${shortId(id)} --at … (after the quiet hours, as above)` : `Next: crier broadcast ${shortId(id)}`
    this.say(
      approvals.required === 0
        ? `Approved ${shortId(id)} by ${ctx.user} (policy needs no approval for ${announcement.severity}). ${next}`
        : approvals.satisfied
        ? `Approved ${shortId(id)} by ${ctx.user} (${approvals.valid.length}/${approvals.required}). ${next}`
        : `Approval by ${ctx.user} recorded (${approvals.valid.length}/${approvals.required}); ${shortId(id)} needs ${approvals.required - approvals.valid.length} more.`,
    )
    return {...announcementJson(announcement), approvals: {required: approvals.required, valid: approvals.valid.length, satisfied: approvals.satisfied}, findings}
  }
}
