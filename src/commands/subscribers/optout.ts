import {Args} from '@oclif/core'
import {CrierCommand} from '../../cli/base-command.js'
import {normaliseContact} from '../../core/subscribers/contacts.js'
import {UsageError} from '../../core/errors.js'
import {counted} from '../../core/counted.js'

export default class SubscribersOptout extends CrierCommand {
  static override description =
    "Opt one contact (an e-mail address or a phone number) out: nothing more is sent to it, on any list or channel, and it survives re-imports. The subscriber's other contact is not opted out."
  static override examples = ['<%= config.bin %> subscribers optout +447700900123', '<%= config.bin %> subscribers optout ceri@example.org']
  static override args = {contact: Args.string({description: 'E-mail address or phone number.', required: true, ignoreStdin: true})}

  async run() {
    const {args} = await this.parse(SubscribersOptout)
    // An opt-out needs no channel: a resident's STOP is honoured whatever secrets this shell lacks.
    const ctx = await this.context({brokenChannelsAside: true})
    const contact = normaliseContact(args.contact, ctx.config.defaultRegion)
    if (!contact) {
      const hint = ctx.config.defaultRegion ? `write phones as +44… or as a number in ${ctx.config.defaultRegion}` : 'write phones as +44…, or set defaultRegion in config'
      throw new UsageError(`"${args.contact}" is not an e-mail address or a valid phone number — ${hint}`)
    }
    const subscribers = ctx.store.transaction(() => ctx.store.subscribers.optOut(contact, `crier subscribers optout by ${ctx.user}`, ctx.now()))
    // An opt-out is per contact (an SMS STOP stops that number): say so, so nobody reads it as the whole person.
    const what = contact.includes('@') ? 'address' : 'number'
    this.say(
      subscribers
        ? `Opted out ${contact}: nothing more is sent to this ${what}, on any list or channel (${counted(subscribers, 'subscriber record')}).`
        : `Opted out ${contact}: not subscribed now, and nothing will be sent to this ${what} if it is imported later.`,
    )
    return {contact, subscribers}
  }
}
