import {Flags} from '@oclif/core'
import {CrierCommand} from '../../cli/base-command.js'
import {UsageError} from '../../core/errors.js'
import {streamWriter} from '../../core/stream-writer.js'
import {listCountLine, subscriberJson, subscriberLine} from '../../views/subscriber-lines.js'

export default class SubscribersList extends CrierCommand {
  static override description = 'Subscriber counts per list, or the subscribers of one list, with which of their contacts are opted out.'
  static override examples = ['<%= config.bin %> subscribers list', '<%= config.bin %> subscribers list --list residents --json | jq length']
  static override flags = {
    list: Flags.string({char: 'l', description: 'Show the subscribers of this list.'}),
    limit: Flags.integer({description: 'At most this many subscribers.', min: 1}),
  }

  async run() {
    const {flags} = await this.parse(SubscribersList)
    const ctx = await this.context({config: false})
    if (!flags.list) {
      const counts = ctx.store.subscribers.listContactCounts()
      if (this.jsonEnabled()) return counts
      if (counts.length === 0) this.log('No subscribers. Import some with crier subscribers import FILE --list NAME')
      for (const c of counts) this.log(listCountLine(c))
      return undefined
    }
    if (!ctx.store.subscribers.hasList(flags.list)) {
      const names = ctx.store.subscribers.listNames()
      throw new UsageError(`no subscribers in a list "${flags.list}" — ${names.length ? `the lists are ${names.join(', ')}` : 'none imported yet: crier subscribers import FILE --list NAME'}`)
    }
    // A list can hold a million people: write them as they are read, never all at once.
    const rows = ctx.store.subscribers.iterateList(flags.list, flags.limit ?? -1)
    // A reader that stopped early (| head) ends the listing: no more is read or written.
    const write = streamWriter(process.stdout)
    if (this.jsonEnabled()) {
      let first = true
      if (!(await write('['))) return undefined
      for (const s of rows) {
        if (!(await write((first ? '\n' : ',\n') + JSON.stringify(subscriberJson(s))))) return undefined
        first = false
      }
      await write(first ? ']\n' : '\n]\n')
    } else {
      for (const s of rows) {
        if (!(await write(`${subscriberLine(s)}\n`))) return undefined
      }
    }
    return undefined
  }
}
