import {Args} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {announcementFlags} from '../cli/draft-flags.js'
import {announcementText} from '../cli/read-text.js'
import {createDraft} from '../core/drafting.js'
import {splitChannelList} from '../core/fields.js'
import {shortId} from '../core/ids.js'
import {announcementJson} from '../views/format.js'

export default class Draft extends CrierCommand {
  static override description = 'Create a draft announcement from an argument, --file or stdin.'
  static override examples = [
    'echo "The A55 is closed westbound." | <%= config.bin %> draft - --severity Moderate --channel website --expires +6h',
    '<%= config.bin %> draft "Water supply restored in Llandudno." --severity Minor --area Llandudno',
  ]
  static override args = {text: Args.string({description: 'The text, or - to read stdin.', ignoreStdin: true})}
  static override flags = announcementFlags

  async run() {
    const {args, flags} = await this.parse(Draft)
    const text = announcementText(args.text, flags.file)
    const ctx = await this.context()
    const announcement = createDraft(ctx, {...flags, text, channels: splitChannelList(flags.channel ?? [])})
    this.say(`Draft ${shortId(announcement.id)} created (${announcement.severity}). Next: crier preview ${shortId(announcement.id)}`)
    return announcementJson(announcement)
  }
}
