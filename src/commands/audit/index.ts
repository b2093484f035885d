import {Flags} from '@oclif/core'
import {CrierCommand} from '../../cli/base-command.js'
import {resolveAnnouncementId} from '../../cli/args.js'
import {parseSince} from '../../core/time-input.js'
import {machineTimeZone} from '../../core/time-zone.js'
import {auditEventJson, auditLine} from '../../views/audit-lines.js'
import {unreviewedOverridesLine} from '../../views/format.js'

export default class Audit extends CrierCommand {
  static override description = 'The audit trail: who did what, when, on what — oldest first; see also audit verify and audit export.'
  // As `channels list` and `subscribers list`: an officer who types `audit list` gets the list.
  static override aliases = ['audit:list']
  static override examples = [
    '<%= config.bin %> audit --since 24h',
    '<%= config.bin %> audit --id 01JD5X',
    '<%= config.bin %> audit --all --json | jq \'.events[] | select(.action == "override")\'',
  ]
  static override flags = {
    since: Flags.string({description: 'Only events since: ISO 8601 or a duration back from now (24h, 7d).'}),
    id: Flags.string({description: 'Only events about this announcement (any unique prefix).'}),
    limit: Flags.integer({description: 'The newest this many.', min: 1, max: 1_000_000_000, default: 50}),
    all: Flags.boolean({description: 'All of them, however many.', exclusive: ['limit']}),
  }

  async run() {
    const {flags} = await this.parse(Audit)
    const ctx = await this.context({config: false})
    const subject = flags.id ? resolveAnnouncementId(ctx, flags.id) : undefined
    // audit reads no config: a date without an offset is in this machine's zone.
    const since = flags.since ? parseSince(flags.since, ctx.now(), machineTimeZone()) : undefined
    const events = ctx.store.audit.list({since, subject, limit: flags.all ? undefined : flags.limit})
    const unreviewed = ctx.store.announcements.unreviewedOverrides().map((a) => a.id)
    // On stderr with --json too: a script must not take the newest 50 for all there is.
    if (!flags.all && events.length === flags.limit) process.stderr.write(`(the newest ${flags.limit}; --limit N or --all for more)\n`)
    if (!this.jsonEnabled()) {
      const flagged = new Set(unreviewed)
      if (events.length === 0) this.log('No audit events.')
      for (const event of events) this.log(auditLine(event, flagged))
      if (unreviewed.length) this.logToStderr(unreviewedOverridesLine(unreviewed))
    }
    return {events: events.map(auditEventJson), unreviewedOverrides: unreviewed}
  }
}
