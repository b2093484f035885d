import {Args} from '@oclif/core'
import {CrierCommand} from '../../cli/base-command.js'
import {normaliseContact} from '../../core/subscribers/contacts.js'
import {UsageError} from '../../core/errors.js'
import {counted} from '../../core/counted.js'
import {oneLine} from '../../core/terminal-text.js'
import {formatTime} from '../../views/format.js'

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
    const {subscribers, earlier} = ctx.store.transaction(() => ctx.store.subscribers.optOut(contact, `crier subscribers optout by ${ctx.user}`, ctx.now()))
    // An opt-out is per contact (an SMS STOP stops that number): say so, so nobody reads it as the whole person.
    const what = contact.includes('@') ? 'address' : 'number'
    // Already opted out: the first opt-out stands (its time and how, as the audit trail has them).
    const done = earlier
      ? `${contact} was already opted out (${formatTime(earlier.at, this.timeZone())}, ${oneLine(earlier.how, 120)})`
      : `Opted out ${contact}`
    this.say(
      subscribers
        ? `${done}: nothing more is sent to this ${what}, on any list or channel (${counted(subscribers, 'subscriber record')}).`
        : `${done}: not subscribed now, and nothing will be sent to this ${what} if it is imported later.`,
    )
    return {contact, subscribers, alreadyOptedOutAt: earlier?.at ?? null}
  }
}
