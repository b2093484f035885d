import {Flags} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {idArg, resolveAnnouncementId} from '../cli/args.js'
import {rejectAnnouncement} from '../core/approval.js'
import {shortId} from '../core/ids.js'
import {announcementJson} from '../views/format.js'

export default class Reject extends CrierCommand {
  static override description = 'Send an announcement back to draft with the reason; its approvals are withdrawn.'
  static override examples = ['<%= config.bin %> reject 01JD5X --reason "Wrong junction numbers"']
  static override args = {id: idArg}
  static override flags = {reason: Flags.string({char: 'r', description: 'What must change.', required: true})}

  async run() {
    const {args, flags} = await this.parse(Reject)
    const ctx = await this.context()
    const id = resolveAnnouncementId(ctx, args.id)
    const announcement = rejectAnnouncement(ctx, id, flags.reason)
    this.say(`Rejected ${shortId(id)}: back to draft.`)
    return announcementJson(announcement)
  }
}
