import {Flags} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {lifecycleStates, type LifecycleState} from '../core/announcement.js'
import {UsageError} from '../core/errors.js'
import {splitCommaList} from '../core/fields.js'
import {parseSince} from '../core/time-input.js'
import {announcementJson, announcementLine, scheduleJson, unreviewedOverridesLine} from '../views/format.js'
import {counted} from '../core/counted.js'
import {supersededBy} from '../core/superseded.js'

export default class List extends CrierCommand {
  static override description = 'List announcements, newest first.'
  static override examples = ['<%= config.bin %> list --status pending_approval', '<%= config.bin %> list --since 24h --json', '<%= config.bin %> list --all --json']
  static override flags = {
    status: Flags.string({description: `Only these lifecycle states (comma list): ${lifecycleStates.join(', ')}.`, multiple: true, multipleNonGreedy: true}),
    since: Flags.string({description: 'Only those created since: ISO 8601 or a duration back from now (24h, 7d).'}),
    limit: Flags.integer({description: 'At most this many.', min: 1, max: 1_000_000_000, default: 50}),
    all: Flags.boolean({description: 'All of them, however many.', exclusive: ['limit']}),
  }

  async run() {
    const {flags} = await this.parse(List)
    const states = splitCommaList(flags.status ?? [])
    for (const state of states) {
      if (!lifecycleStates.includes(state as LifecycleState)) throw new UsageError(`--status "${state}" is not a state — use one of ${lifecycleStates.join(', ')}`)
    }
    const ctx = await this.context({config: false})
    // Read once: for list it is a store read (the zone the config last named).
    const zone = this.timeZone()
    const announcements = ctx.store.announcements.list({
      states: states as LifecycleState[],
      // A date without an offset is in the zone the times are shown in.
      since: flags.since ? parseSince(flags.since, ctx.now(), zone) : undefined,
      limit: flags.all ? undefined : flags.limit,
    })
    const superseded = supersededBy(ctx, announcements.map((a) => a.id))
    const schedules = new Map(announcements.filter((a) => a.state === 'scheduled').map((a) => [a.id, ctx.store.schedules.activeFor(a.id)]))
    // On stderr with --json too: a script must not take the newest 50 for all there is.
    if (!flags.all && announcements.length === flags.limit) process.stderr.write(`(the newest ${flags.limit}; --limit N or --all for more)\n`)
    if (!this.jsonEnabled()) {
      if (announcements.length === 0) this.log('No announcements.')
      else this.log(announcements.map((a) => announcementLine(a, zone, superseded.get(a.id), schedules.get(a.id))).join('\n'))
      const missed = ctx.store.schedules.missedCountSince(ctx.now() - 24 * 3600_000)
      if (missed) this.logToStderr(`${counted(missed, 'scheduled occurrence')} missed in the last 24 h — see crier status`)
      const unreviewed = ctx.store.announcements.unreviewedOverrides()
      if (unreviewed.length) this.logToStderr(unreviewedOverridesLine(unreviewed.map((a) => a.id)))
    }
    return announcements.map((a) => ({...announcementJson(a), ...superseded.get(a.id), ...scheduleJson(schedules.get(a.id))}))
  }
}
