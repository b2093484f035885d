import {Flags} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {stopSignals} from '../cli/stop-signals.js'
import {parseDuration} from '../core/duration.js'
import {ExitCode, UsageError} from '../core/errors.js'
import {deliverQueued} from '../engine/deliver.js'
import {oneLine} from '../core/terminal-text.js'

export default class Run extends CrierCommand {
  static override description = 'One unattended pass: deliver queued work until idle or --max-time, then exit. Safe to overlap.'
  static override examples = ['* * * * * <%= config.bin %> run --max-time 50s', '<%= config.bin %> run --verbose']
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
    const ctx = await this.context()
    const signals = stopSignals()
    let summary
    try {
      summary = await deliverQueued(ctx, {deadline, stop: signals.stop, abort: signals.abort}, (event) => {
        // Cron mails stderr: one line per delivery that needs a person.
        if (event.nextState === 'dead' || event.nextState === 'unknown' || event.nextState === 'expired') {
          process.stderr.write(`crier: ${event.channel} delivery ${event.deliveryId} ${event.nextState}: ${oneLine(event.error ?? '', 200)}\n`)
        }
      })
    } finally {
      signals.dispose()
    }
    const trouble = summary.dead + summary.unknown + summary.expired
    if (flags.verbose && !this.jsonEnabled()) {
      this.log(`sent ${summary.sent}, retrying ${summary.retrying}, requeued ${summary.requeued}, dead ${summary.dead}, unknown ${summary.unknown}, expired ${summary.expired} (stopped: ${summary.stoppedBy})`)
    }
    if (signals.exitCode()) process.exitCode = signals.exitCode()
    else if (trouble > 0) process.exitCode = ExitCode.incomplete
    return summary
  }
}
