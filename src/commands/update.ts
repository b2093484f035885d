import {Args} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {idArg, resolveAnnouncementId} from '../cli/args.js'
import {announcementFlags, refuseChannelNameAsText} from '../cli/draft-flags.js'
import {announcementText} from '../cli/read-text.js'
import {splitChannelList} from '../core/fields.js'
import {draftUpdate} from '../core/follow-up.js'
import {shortId} from '../core/ids.js'
import {approvalsOf} from '../core/approval.js'
import {approvalsWanted} from '../views/approval-wanted.js'
import {announcementJson} from '../views/format.js'

export default class Update extends CrierCommand {
  static override description =
    'Draft a CAP Update of an announcement that went out: the new text, and any field to change; the rest is the original\'s. Then preview, approve and broadcast it as usual.'
  static override examples = [
    '<%= config.bin %> update 01JD5X "The A55 westbound has reopened at J11; J12 stays closed until 20:00." --severity Minor',
    'echo "Water is safe to drink again in Llandudno." | <%= config.bin %> update 01JD5X - --expires +2h',
  ]
  static override args = {
    id: idArg,
    text: Args.string({description: 'The updated text, or - to read stdin.', ignoreStdin: true}),
  }
  static override flags = {...announcementFlags}

  async run() {
    const {args, flags} = await this.parse(Update)
    const {file, channel, ...fields} = flags
    const text = await announcementText(args.text, file)
    const ctx = await this.context()
    refuseChannelNameAsText(args.text, channel, ctx.config)
    const id = resolveAnnouncementId(ctx, args.id)
    const update = draftUpdate(ctx, id, {...fields, text, channels: splitChannelList(channel ?? [])})
    const short = shortId(update.id)
    const approval = update.state === 'pending_approval' ? `; it needs ${approvalsWanted(update, approvalsOf(ctx, update))}: crier approve ${short}` : ''
    this.say(`Update ${short} of ${shortId(id)} drafted (${update.severity}, ${update.channels.join(', ')}${approval ? ', waiting for approval' : ''}). Next: crier preview ${short}${approval}; then crier broadcast ${short}`)
    return announcementJson(update)
  }
}
