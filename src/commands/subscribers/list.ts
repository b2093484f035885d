import {Flags} from '@oclif/core'
import {CrierCommand} from '../../cli/base-command.js'
import {stripTerminalControls} from '../../core/terminal-text.js'
import {pad} from '../../views/format.js'
import {counted} from '../../core/counted.js'

export default class SubscribersList extends CrierCommand {
  static override description = 'Subscriber counts per list, or the subscribers of one list.'
  static override examples = ['<%= config.bin %> subscribers list', '<%= config.bin %> subscribers list --list residents --json | jq length']
  static override flags = {
    list: Flags.string({char: 'l', description: 'Show the subscribers of this list.'}),
    limit: Flags.integer({description: 'At most this many subscribers.', min: 1}),
  }

  async run() {
    const {flags} = await this.parse(SubscribersList)
    const ctx = await this.context({config: false})
    if (!flags.list) {
      const counts = ctx.store.subscribers.listCounts()
      if (!this.jsonEnabled()) {
        if (counts.length === 0) this.log('No subscribers. Import some with crier subscribers import FILE --list NAME')
        for (const c of counts) this.log(`${pad(c.list, 20)}${counted(c.subscribers, 'subscriber')}, ${c.optedOut.toLocaleString('en-GB')} opted out`)
      }
      return counts
    }
    // A list can hold a million people: write them as they are read, never all at once.
    const rows = ctx.store.subscribers.iterateList(flags.list, flags.limit ?? -1)
    const out = process.stdout
    const write = async (text: string) => {
      if (!out.write(text)) await new Promise((resolve) => out.once('drain', resolve))
    }
    if (this.jsonEnabled()) {
      let first = true
      await write('[')
      for (const s of rows) {
        await write((first ? '\n' : ',\n') + JSON.stringify(s))
        first = false
      }
      await write(first ? ']\n' : '\n]\n')
    } else {
      for (const s of rows) {
        await write(`${pad(String(s.id), 8)}${pad(s.email ?? '—', 32)}${pad(s.phone ?? '—', 16)}${pad(s.language ?? '—', 7)}${s.optedOut ? 'opted out  ' : ''}${stripTerminalControls(s.name ?? '')}\n`)
      }
    }
    return undefined
  }
}
