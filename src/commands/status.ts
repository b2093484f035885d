import {Args} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {resolveAnnouncementId} from '../cli/args.js'
import {ExitCode} from '../core/errors.js'
import {shortId} from '../core/ids.js'
import {announcementStatus} from '../engine/status.js'
import {announcementJson, announcementLine} from '../views/format.js'
import {broadcastSummaryLines} from '../views/broadcast-lines.js'
import {oneLine} from '../core/terminal-text.js'

export default class Status extends CrierCommand {
  static override description = 'Delivery state per channel of one announcement, or of everything sending now.'
  static override examples = ['<%= config.bin %> status 01JD5X', '<%= config.bin %> status --json']
  static override args = {id: Args.string({description: 'Announcement id (any unique prefix).', ignoreStdin: true})}

  async run() {
    const {args} = await this.parse(Status)
    const ctx = await this.context()
    if (args.id) {
      const status = announcementStatus(ctx, resolveAnnouncementId(ctx, args.id))
      if (!this.jsonEnabled()) {
        this.log(announcementLine(status.announcement))
        if (status.channels.length === 0) this.log(`Not sent yet. Next: crier broadcast ${shortId(status.announcement.id)}`)
        for (const line of broadcastSummaryLines(status, ctx.config)) this.log(line)
      }
      if (status.trouble > 0) process.exitCode = ExitCode.incomplete
      return {...status, announcement: announcementJson(status.announcement)}
    }
    const since = ctx.now() - 24 * 3600_000
    const active = ctx.store.announcements.list({states: ['sending']})
    const recent = ctx.store.announcements.list({states: ['sent_with_failures'], since})
    const rows = [...active, ...recent].map((a) => announcementStatus(ctx, a.id))
    const missed = ctx.store.schedules.missedSince(since)
    if (!this.jsonEnabled()) {
      for (const m of missed) this.log(`MISSED ${shortId(m.templateId)} occurrence due ${new Date(m.dueAt).toISOString()}: ${oneLine(m.reason ?? '', 200)}`)
      if (rows.length === 0 && missed.length === 0) this.log('Nothing sending, and no failures in the last 24 h.')
      for (const status of rows) {
        this.log(announcementLine(status.announcement))
        for (const line of broadcastSummaryLines(status, ctx.config)) this.log('  ' + line)
      }
    }
    return {sending: rows.map((status) => ({...status, announcement: announcementJson(status.announcement)})), missedOccurrences: missed}
  }
}
