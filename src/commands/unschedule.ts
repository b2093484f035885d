import {CrierCommand} from '../cli/base-command.js'
import {idArg, resolveAnnouncementId} from '../cli/args.js'
import {shortId} from '../core/ids.js'
import {unscheduleAnnouncement} from '../core/scheduling.js'
import {announcementJson} from '../views/format.js'

export default class Unschedule extends CrierCommand {
  static override description = 'Stop a schedule; the announcement goes back to approved.'
  static override examples = ['<%= config.bin %> unschedule 01JE2A']
  static override args = {id: idArg}

  async run() {
    const {args} = await this.parse(Unschedule)
    // Stopping needs no config: a colleague's typo in it, or a secret this shell lacks, must not
    // keep a wrong message scheduled.
    const ctx = await this.context({config: false})
    const id = resolveAnnouncementId(ctx, args.id)
    const announcement = unscheduleAnnouncement(ctx, id)
    this.say(`Unscheduled ${shortId(id)}; it is approved and will not go unless broadcast or scheduled again.`)
    return announcementJson(announcement)
  }
}
