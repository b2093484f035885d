import {Args} from '@oclif/core'
import {CrierCommand} from '../../cli/base-command.js'
import {normaliseContact} from '../../core/subscribers/contacts.js'
import {UsageError} from '../../core/errors.js'
import {counted} from '../../core/counted.js'

export default class SubscribersOptout extends CrierCommand {
  static override description = 'Opt a contact (e-mail or phone) out of everything; it survives re-imports.'
  static override examples = ['<%= config.bin %> subscribers optout +447700900123', '<%= config.bin %> subscribers optout ceri@example.org']
  static override args = {contact: Args.string({description: 'E-mail address or phone number.', required: true, ignoreStdin: true})}

  async run() {
    const {args} = await this.parse(SubscribersOptout)
    const ctx = await this.context()
    const contact = normaliseContact(args.contact, ctx.config.defaultRegion)
    if (!contact) throw new UsageError(`"${args.contact}" is not an e-mail address or a valid phone number — write phones as +44…, or set defaultRegion in config`)
    const subscribers = ctx.store.transaction(() => ctx.store.subscribers.optOut(contact, `crier subscribers optout by ${ctx.user}`, ctx.now()))
    this.say(subscribers ? `Opted out ${contact} (${counted(subscribers, 'subscriber record')}).` : `Opted out ${contact}: not subscribed now, and will not be when imported later.`)
    return {contact, subscribers}
  }
}
