import {Flags} from '@oclif/core'
import {CrierCommand, lockWaitMs} from '../cli/base-command.js'
import {pauseLines, reportUnusableChannels} from '../cli/delivery-report.js'
import {stopSignals} from '../cli/stop-signals.js'
import {parseDuration} from '../core/duration.js'
import {ExitCode, UsageError} from '../core/errors.js'
import {deliverQueued} from '../engine/deliver.js'
import {oneLine} from '../core/terminal-text.js'
import {problemLines} from '../cli/problem-lines.js'
import {FeedRefresher} from '../engine/feed-refresh.js'
import {fireDueSchedules, type SchedulerEvent} from '../engine/scheduler.js'

export default class Run extends CrierCommand {
  static override description = 'One unattended pass: fire due schedules, deliver queued work until idle or --max-time, then exit. Safe to overlap.'
  static override allocatesInBulk = true
  static override examples = ['<%= config.bin %> run --max-time 50s   # in crontab: * * * * * crier run --max-time 50s', '<%= config.bin %> run --verbose']
  static override flags = {
    'max-time': Flags.string({description: 'Stop claiming after this long (e.g. 50s, 5m); in-flight sends finish.'}),
    verbose: Flags.boolean({char: 'v', description: 'Print a summary on success (cron runs stay quiet without it).'}),
  }

  async run() {
    const {flags} = await this.parse(Run)
    let deadline: number | undefined
    if (flags['max-time'] !== undefined) {
      const ms = parseDuration(flags['max-time'])
      if (ms === undefined || ms <= 0) throw new UsageError(`--max-time "${flags['max-time']}" is not a duration — use e.g. 50s or 5m`)
      deadline = Date.now() + ms
    }
    // A channel with wrong settings is left out, not allowed to hold back the others.
    // Unattended: an officer's long import holding the database is waited for, not a failure.
    const ctx = await this.context({brokenChannelsAside: true, missingSecretsAside: false, busyTimeoutMs: lockWaitMs})
    const signals = stopSignals()
    const occurrences: SchedulerEvent[] = []
    const onOccurrence = (event: SchedulerEvent) => {
      occurrences.push(event)
      if (event.kind === 'missed') process.stderr.write(`crier: schedule ${event.scheduleId} (${event.templateId}) occurrence due ${new Date(event.dueAt).toISOString()} ${oneLine(event.reason ?? 'missed', 200)}\n`)
    }
    // Cron mails stderr: one line per delivery that needs a person (a few per channel and state,
    // then how many more: an audience that expired is not 100,000 lines).
    const problems = problemLines((line) => process.stderr.write(line + '\n'))
    // A feed one of whose entries expired is written again (feed-refresh.ts).
    const feeds = new FeedRefresher(() => ctx, (_channel, line) => process.stderr.write(`crier: ${line}\n`))
    // Due schedules fire first, then delivery; a schedule coming due during the run fires too.
    fireDueSchedules(ctx, onOccurrence)
    let summary
    try {
      const tick = () => {
        fireDueSchedules(ctx, onOccurrence)
        feeds.tick()
      }
      summary = await deliverQueued(ctx, {deadline, stop: signals.stop, abort: signals.abort, tick}, (event) => {
        if (event.nextState === 'dead' || event.nextState === 'unknown' || event.nextState === 'expired') problems.add(event)
      })
      if (!signals.stop.aborted) await feeds.finish()
    } finally {
      signals.dispose()
      problems.close()
    }
    const trouble = summary.dead + summary.unknown + summary.expired
    if (flags.verbose && !this.jsonEnabled()) {
      this.log(`fired ${occurrences.filter((o) => o.kind === 'fired').length}, missed ${occurrences.filter((o) => o.kind === 'missed').length}; sent ${summary.sent}, retrying ${summary.retrying}, requeued ${summary.requeued}, dead ${summary.dead}, unknown ${summary.unknown}, expired ${summary.expired} (stopped: ${summary.stoppedBy})`)
    }
    if (signals.exitCode()) process.exitCode = signals.exitCode()
    // A missed occurrence did not go: as much a problem for the officer as a dead delivery.
    else if (trouble > 0 || occurrences.some((o) => o.kind === 'missed')) process.exitCode = ExitCode.incomplete
    reportUnusableChannels(summary, signals.exitCode())
    // A provider's rate limit holds a channel back past this run: cron's mail says until when,
    // rather than a quiet exit 0 while an alert waits.
    const waiting = new Set(ctx.store.deliveries.channelsWithQueue())
    for (const line of pauseLines(ctx, (channel) => waiting.has(channel), '; its queued deliveries wait for a later run')) process.stderr.write(`crier: ${line}\n`)
    for (const [name, problem] of Object.entries(ctx.config.brokenChannels ?? {})) {
      // With deliveries waiting it was reported above, as a channel that cannot send.
      if (!(name in summary.unusableChannels)) process.stderr.write(`crier: ${problem} — ${name} is left out until that is fixed\n`)
    }
    return {...summary, fired: occurrences.filter((o) => o.kind === 'fired').length, missed: occurrences.filter((o) => o.kind === 'missed').length}
  }
}
