import {Flags} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {idArg, resolveAnnouncementId} from '../cli/args.js'
import {shortId} from '../core/ids.js'
import {scheduleAnnouncement} from '../core/scheduling.js'
import {formatFromNow, formatInZone} from '../core/when.js'
import {announcementJson} from '../views/format.js'

export default class Schedule extends CrierCommand {
  static override description = 'Schedule an approved announcement once (--at) or on a cron (--cron), in a time zone.'
  static override examples = [
    '<%= config.bin %> schedule 01JD5X --at "tomorrow 07:30"',
    '<%= config.bin %> schedule 01JE2A --cron "0 8 * * TUE" --tz Europe/London --until 2027-03-31',
  ]
  static override args = {id: idArg}
  static override flags = {
    at: Flags.string({description: 'When, once: ISO 8601 or words ("tomorrow 07:30", "in 2 hours", "next Monday 9am").', exclusive: ['cron']}),
    cron: Flags.string({description: 'Recurring: five cron fields, e.g. "0 8 * * TUE".', exclusive: ['at']}),
    tz: Flags.string({description: 'IANA time zone (default: the configured timezone).'}),
    until: Flags.string({description: 'Recurring: no occurrence after this (ISO 8601 or words).'}),
  }

  async run() {
    const {args, flags} = await this.parse(Schedule)
    const ctx = await this.context()
    const id = resolveAnnouncementId(ctx, args.id)
    const result = scheduleAnnouncement(ctx, id, {at: flags.at, cron: flags.cron, tz: flags.tz, until: flags.until})
    for (const finding of result.findings) this.logToStderr(`Policy ${finding.level}: ${finding.message}`)
    const zone = result.schedule.timeZone
    const now = ctx.now()
    if (result.schedule.kind === 'once') {
      this.say(`Scheduled ${shortId(id)} for ${formatInZone(result.next[0]!, zone)} (${formatFromNow(result.next[0]!, now)}) — understood "${result.understood}".`)
    } else {
      // The year on the first, and on any in another year than the one before (29 Feb 2028, 2032…).
      const year = new Intl.DateTimeFormat('en-GB', {timeZone: zone, year: 'numeric'})
      const times = result.next.map((at, index) => formatInZone(at, zone, index === 0 || year.format(at) !== year.format(result.next[index - 1]!)))
      this.say(`Next: ${times.join(', ')}${result.schedule.untilAt ? ` (until ${formatInZone(result.schedule.untilAt, zone)})` : ''}`)
    }
    return {announcement: announcementJson(result.announcement), schedule: result.schedule, next: result.next, findings: result.findings}
  }
}
