import {Flags} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {UsageError} from '../core/errors.js'
import {parseSince} from '../core/time-input.js'
import {machineTimeZone} from '../core/time-zone.js'
import {deliveryReport} from '../engine/report.js'
import {terminalWidth} from '../cli/terminal-width.js'
import {reportCsv, reportJson, reportTable} from '../views/report-lines.js'

export default class Report extends CrierCommand {
  static override description = 'Delivery statistics: per channel, what was queued in a window of time, how it ended, the retries it took, and how long it took from queued to sent (median, 95th percentile, slowest).'
  static override examples = [
    '<%= config.bin %> report --since 7d',
    '<%= config.bin %> report --since 2026-10-01 --until 2026-11-01 --format csv > october.csv',
    '<%= config.bin %> report --since 24h --json',
  ]
  static override flags = {
    since: Flags.string({description: 'Deliveries queued since: ISO 8601 or a duration back from now (24h, 7d). Default: from the first.'}),
    until: Flags.string({description: 'Deliveries queued before: ISO 8601 or a duration back from now. Default: now.'}),
    format: Flags.string({description: 'table (default), csv or json (the same as --json).', options: ['table', 'csv', 'json']}),
  }

  async run() {
    const {flags} = await this.parse(Report)
    if (this.jsonEnabled() && flags.format && flags.format !== 'json') throw new UsageError(`--json and --format ${flags.format} ask for two forms — give one`)
    // As audit: report reads no config, so a date without an offset is in this machine's zone.
    const ctx = await this.context({config: false})
    const zone = machineTimeZone()
    const now = ctx.now()
    const since = flags.since === undefined ? undefined : parseSince(flags.since, now, zone)
    const until = flags.until === undefined ? now : parseSince(flags.until, now, zone, '--until')
    if (since !== undefined && since >= until) throw new UsageError(`--since ${new Date(since).toISOString()} is not before --until ${new Date(until).toISOString()} — give an earlier --since or a later --until`)
    const report = deliveryReport(ctx.store, {since, until})
    const json = reportJson(report)
    if (flags.format === 'json' && !this.jsonEnabled()) this.logJson(json)
    else if (flags.format === 'csv') process.stdout.write(reportCsv(report))
    else if (!this.jsonEnabled()) for (const line of reportTable(report, terminalWidth())) this.log(line)
    return json
  }
}
