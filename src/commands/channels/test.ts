import {Args} from '@oclif/core'
import {CrierCommand} from '../../cli/base-command.js'
import {ExitCode} from '../../core/errors.js'
import {checkChannels} from '../../core/channel-check.js'
import {pad} from '../../views/format.js'
import {saveChannelFacts} from '../../config/channel-facts.js'
import {ensurePrivateDir} from '../../config/paths.js'

export default class ChannelsTest extends CrierCommand {
  static override description = 'Check channels\' credentials and reachability without posting anything (all of them, or one).'
  static override examples = ['<%= config.bin %> channels test', '<%= config.bin %> channels test residents-email --json']
  static override args = {name: Args.string({description: 'One channel; default: all.', ignoreStdin: true})}

  async run() {
    const {args} = await this.parse(ChannelsTest)
    const config = await this.crierConfig()
    const names = args.name ? [args.name] : Object.keys(config.channels)
    const checks = await checkChannels(config, names)
    const learned = Object.fromEntries(checks.filter((c) => c.ok && c.learned).map((c) => [c.channel, c.learned!]))
    if (Object.keys(learned).length) {
      ensurePrivateDir(this.crierPaths().home)
      saveChannelFacts(this.crierPaths().home, learned)
    }
    if (!this.jsonEnabled()) for (const c of checks) this.log(`${pad(c.channel, 18)}${c.ok ? 'ok    ' : 'FAILED'}  ${c.detail}`)
    if (checks.some((c) => !c.ok)) process.exitCode = ExitCode.failure
    return checks
  }
}
