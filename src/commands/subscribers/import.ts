import {Args, Flags} from '@oclif/core'
import {CrierCommand} from '../../cli/base-command.js'
import {UsageError} from '../../core/errors.js'
import {importSubscribers} from '../../core/subscribers/import.js'
import {oneLine} from '../../core/terminal-text.js'

export default class SubscribersImport extends CrierCommand {
  static override description = 'Import subscribers from a CSV file (name,email,phone,language,lat,lon,zone,tags) into a list.'
  static override allocatesInBulk = true
  static override startsHome = true
  static override examples = ['<%= config.bin %> subscribers import residents.csv --list residents', 'export-residents | <%= config.bin %> subscribers import - --list residents   # rejected rows: ./residents.rejected.csv']
  static override args = {file: Args.string({description: 'The CSV file, or - to read it from stdin.', required: true, ignoreStdin: true})}
  static override flags = {list: Flags.string({char: 'l', description: 'The list to import into (a channel\'s audience).', required: true})}

  async run() {
    const {args, flags} = await this.parse(SubscribersImport)
    if (args.file === '-' && process.stdin.isTTY) {
      throw new UsageError('- reads the CSV from stdin, but stdin is this terminal — pipe it in (crier subscribers import - --list L < residents.csv), or give its path')
    }
    const ctx = await this.context()
    const result = await importSubscribers(ctx, args.file, flags.list, args.file === '-' ? process.stdin : undefined)
    const n = (value: number) => value.toLocaleString('en-GB')
    this.say(
      `Imported ${n(result.imported)} into ${result.list} (${n(result.updated)} updated, ${n(result.rejected)} rejected${result.partial ? `, ${n(result.partial)} without a field that could not be used` : ''}${result.rejectedFile ? ` — see ${oneLine(result.rejectedFile, 1000)}` : ''})`,
    )
    return result
  }
}
