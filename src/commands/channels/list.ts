import {CrierCommand} from '../../cli/base-command.js'
import {missingSecretLines} from '../../cli/missing-secrets.js'
import {channelLimits} from '../../config/load.js'
import {driverFor} from '../../channels/registry.js'
import {pad} from '../../views/format.js'
import {oneLine} from '../../core/terminal-text.js'

export default class ChannelsList extends CrierCommand {
  static override description = 'List the configured channels (secrets never shown).'
  static override examples = ['<%= config.bin %> channels list --json']

  async run() {
    await this.parse(ChannelsList)
    const config = await this.crierConfig()
    const channels = Object.values(config.channels).map((channel) => {
      const driver = driverFor(channel.type)!
      const limits = channelLimits(channel)
      return {
        name: channel.name,
        type: channel.type,
        kind: driver.kind,
        idempotent: driver.capabilities.idempotent,
        concurrency: limits.concurrency,
        maxAttempts: limits.maxAttempts,
        rate: channel.rate ?? null,
        // A secret this shell lacks: usable for drafting and queueing, not for sending from here.
        cannotSendHere: config.missingSecrets?.[channel.name] ?? null,
      }
    })
    if (!this.jsonEnabled()) {
      this.log(`Config: ${oneLine(config.source, 1000)}`)
      for (const c of channels) this.log(`${pad(c.name, 16)}${pad(c.type, 10)}${pad(c.kind, 14)}${c.idempotent ? 'idempotent' : ''}`)
      for (const line of missingSecretLines(config, channels.map((c) => c.name))) this.logToStderr(`Note: ${line}`)
    }
    return {source: config.source, channels}
  }
}
