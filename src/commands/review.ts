import {Flags} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {idArg, resolveAnnouncementId} from '../cli/args.js'
import {shortId} from '../core/ids.js'
import {reviewOverride} from '../core/review.js'
import {announcementJson} from '../views/format.js'

export default class Review extends CrierCommand {
  static override description = 'Review an announcement sent by emergency override, as an officer other than the one who made it.'
  static override examples = ['CRIER_USER=insp.hughes <%= config.bin %> review 01JD5X --note "Justified: the bridge was failing"']
  static override args = {id: idArg}
  static override flags = {note: Flags.string({description: 'What the reviewer concluded (recorded in the audit trail).'})}

  async run() {
    const {args, flags} = await this.parse(Review)
    const ctx = await this.context()
    const id = resolveAnnouncementId(ctx, args.id)
    const announcement = reviewOverride(ctx, id, flags.note)
    this.say(`Reviewed the override of ${shortId(id)} (by ${announcement.override!.by}) as ${ctx.user}.`)
    return announcementJson(announcement)
  }
}
