import {CrierCommand} from '../../cli/base-command.js'
import {ExitCode} from '../../core/errors.js'
import {counted} from '../../core/counted.js'

export default class AuditVerify extends CrierCommand {
  static override description = 'Walk the audit trail\'s hash chain and name the first row that was changed, deleted, moved or cut off (exit 1).'
  static override examples = ['<%= config.bin %> audit verify', '<%= config.bin %> audit verify --json']

  async run() {
    await this.parse(AuditVerify)
    const ctx = await this.context({config: false})
    const verdict = ctx.store.audit.verify()
    if (verdict.ok) {
      this.say(`audit verify: ${counted(verdict.events, 'event')}, chain whole (last hash ${verdict.headHash})`)
    } else {
      // Printed here rather than thrown, so that --json still gets its document on stdout.
      process.stderr.write(`Error: audit verify: ${verdict.problem} — keep a copy of crier.db as it is, and compare it with an earlier crier audit export\n`)
      process.exitCode = ExitCode.failure
    }
    return verdict
  }
}
