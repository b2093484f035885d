import {Flags} from '@oclif/core'
import {CrierCommand} from '../../cli/base-command.js'
import {UsageError} from '../../core/errors.js'
import {writeAuditExport} from '../../core/audit-export.js'
import {counted} from '../../core/counted.js'
import {oneLine} from '../../core/terminal-text.js'

export default class AuditExport extends CrierCommand {
  static override description = 'Write the audit trail as JSON lines with its hashes, so the chain can be checked elsewhere.'
  static override examples = ['<%= config.bin %> audit export --output audit-2026-05.jsonl', '<%= config.bin %> audit export | gzip > audit.jsonl.gz']
  static override flags = {
    output: Flags.string({char: 'o', description: 'Write to this file (mode 0600, replaced whole) instead of stdout.'}),
  }

  async run() {
    const {flags} = await this.parse(AuditExport)
    if (flags.output !== undefined && flags.output.trim() === '') throw new UsageError('--output is empty — give a file name, or leave out --output to write to stdout')
    if (this.jsonEnabled() && !flags.output) throw new UsageError('audit export writes its JSON lines to stdout — give --output FILE to use --json')
    const ctx = await this.context({config: false})
    const written = await writeAuditExport(ctx.store, flags.output)
    if (flags.output) this.say(`Wrote ${counted(written.events, 'audit event')} to ${oneLine(flags.output, 1000)}`)
    return {...written, file: flags.output}
  }
}
