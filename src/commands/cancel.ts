import {Args, Flags} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {idArg, resolveAnnouncementId} from '../cli/args.js'
import {reportDelivery, reportUnusableChannels, statusJson} from '../cli/delivery-report.js'
import {givenAnnouncementText} from '../cli/read-text.js'
import {stopSignals, stoppingLine} from '../cli/stop-signals.js'
import {counted} from '../core/counted.js'
import {ExitCode, PolicyRefusal} from '../core/errors.js'
import {ConfigError} from '../config/load.js'
import {cancelAnnouncement} from '../core/follow-up.js'
import {mustGet} from '../core/approval.js'
import {blockingFindings} from '../core/policy/check.js'
import {previewAnnouncement} from '../core/preview.js'
import type {CoreContext} from '../core/context.js'
import {shortId} from '../core/ids.js'
import {deliverQueued} from '../engine/deliver.js'
import {fanOut} from '../engine/fan-out.js'
import {liveSnapshotReader} from '../engine/live-snapshot.js'
import {announcementStatus} from '../engine/status.js'
import {announcementJson, formatTime} from '../views/format.js'
import {progressOnStderr} from '../views/live/progress-lines.js'
import {occurrencesStillOutLine} from '../views/occurrence-lines.js'

export default class Cancel extends CrierCommand {
  static override description =
    'Cancel an announcement: stop what has not been sent, end its schedule, and where it reached the public send a CAP Cancel to those channels (and recipients).'
  static override allocatesInBulk = true
  static override examples = [
    '<%= config.bin %> cancel 01JD5X "The road has reopened; the closure notice was sent in error."',
    '<%= config.bin %> cancel 01JD5X --no-wait   # stop it and queue the Cancel for crier run',
    '<%= config.bin %> cancel 01JD5X --hold      # stop it; draft the Cancel to add its Welsh (crier edit --lang cy-GB) before crier broadcast',
  ]
  static override args = {
    id: idArg,
    text: Args.string({description: 'What the public is told (the Cancel message), or - to read stdin; default: a line saying the message is cancelled.', ignoreStdin: true}),
  }
  static override flags = {
    wait: Flags.boolean({description: 'Wait for the Cancel message to be delivered (--no-wait: queue it and return).', default: true, allowNo: true}),
    quiet: Flags.boolean({description: 'No progress lines on stderr while waiting.'}),
    hold: Flags.boolean({
      description: 'Stop it now, but only draft the Cancel message: to add its text in another language the original went out in (crier edit ID --lang …), then send it with crier broadcast ID.',
    }),
  }

  async run() {
    const {args, flags} = await this.parse(Cancel)
    // Only an argument or `-`: a cancel from a script with an idle stdin must not wait on it.
    const text = args.text === undefined ? undefined : await givenAnnouncementText(args.text, undefined)
    let ctx: CoreContext
    try {
      ctx = await this.context()
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      return this.stopWithoutConfig(args.id, text, error)
    }
    const id = resolveAnnouncementId(ctx, args.id)
    const result = cancelAnnouncement(ctx, id, text)
    const stopped = result.stopped ? `stopped ${counted(result.stopped, 'delivery', 'deliveries')} not yet sent` : 'nothing was waiting to be sent'
    // Held by a sender: what is on the wire finishes; what it has not started it lets go, unsent.
    const inFlight = result.inFlight ? `; ${counted(result.inFlight, 'delivery', 'deliveries')} held by a sender: any already on the wire finish, the rest are let go unsent` : ''
    this.say(`Cancelled ${shortId(id)}: ${stopped}${inFlight}.`)
    if (result.withdrawnUpdates.length) this.say(`Withdrawn with it, never sent: ${result.withdrawnUpdates.map((update) => `the Update ${shortId(update)}`).join(', ')} — it updated what is now cancelled.`)
    // On stderr, --json or not: the public was just told it is cancelled, and the same words are due again.
    const firing = result.scheduleStillFires
    if (firing) this.logToStderr(`Warning: ${shortId(id)} was one occurrence of ${shortId(firing.templateId)}'s recurring schedule, which still fires — next ${formatTime(firing.nextDueAt, this.timeZone())}, with the same words. To stop it: crier unschedule ${shortId(firing.templateId)}`)
    const json = {
      announcement: announcementJson(result.announcement),
      stopped: result.stopped,
      inFlight: result.inFlight,
      occurrencesStillOut: result.occurrencesStillOut,
      occurrencesSending: result.occurrencesSending,
      withdrawnUpdates: result.withdrawnUpdates,
      ...(firing && {scheduleStillFires: firing}),
      ...(result.expiredAt !== undefined && {expiredAt: result.expiredAt}),
    }
    const {followUp} = result
    if (!followUp) {
      if (result.occurrencesStillOut.length) {
        this.say(occurrencesStillOutLine(result.occurrencesStillOut, result.occurrencesSending))
      } else if (result.expiredAt !== undefined) {
        this.say(`It expired at ${formatTime(result.expiredAt, this.timeZone())}: nothing of it is in force anywhere, so no Cancel message is needed.`)
      } else {
        this.say('It had not reached the public anywhere: no Cancel message is needed.')
      }
      return json
    }
    const follow = shortId(followUp.id)
    if (flags.hold) {
      this.say(`The Cancel message ${follow} for ${followUp.channels.join(', ')} is drafted, not sent (--hold): nothing more of ${shortId(id)} will go out, but the public has not been told it is cancelled.`)
      this.say(`Next: crier preview ${follow}; crier edit ${follow} --lang … --headline … --text … for each other language; then crier broadcast ${follow}`)
      return {...json, followUp: statusJson(announcementStatus(ctx, followUp.id)), followUpHeld: {...cancelHeldBy(ctx, followUp.id), asked: true}}
    }
    let findings
    try {
      findings = fanOut(ctx, followUp.id).findings
    } catch (error) {
      if (!(error instanceof PolicyRefusal)) throw error
      // Stopping needed nobody else; telling the public goes the ordinary way. Until it has,
      // exit 3 (refused, or waiting for approval): a script must not take the public as told.
      const held = cancelHeldBy(ctx, followUp.id)
      this.logToStderr(`The Cancel message ${follow} for ${followUp.channels.join(', ')} is drafted but not sent: ${error.message}`)
      this.logToStderr(`${shortId(id)} is cancelled all the same: nothing more of it will go out — but the public has not been told it is cancelled.`)
      this.logToStderr(
        held.policy
          ? `Next: crier preview ${follow} shows what policy refuses; once that is put right${held.approval ? ' and it is approved' : ''}, crier broadcast ${follow}`
          : `Next: crier preview ${follow}; once approved, crier broadcast ${follow}`,
      )
      process.exitCode = ExitCode.refused
      return {...json, followUp: statusJson(announcementStatus(ctx, followUp.id)), followUpHeld: held}
    }
    for (const finding of findings) {
      // "add it with crier edit" is too late for a Cancel on its way: say how, the next time.
      this.logToStderr(
        finding.rule === 'follow-up-language'
          ? `Note: ${finding.message.replace(/ — add it: .*$/, '')} (crier cancel --hold drafts the Cancel to add a language to before it goes)`
          : `Policy ${finding.level}: ${finding.message}`,
      )
    }
    if (!flags.wait) {
      this.say(`Queued the Cancel message ${follow} for ${followUp.channels.join(', ')}. crier run or a worker will send it.`)
      return {...json, followUp: statusJson(announcementStatus(ctx, followUp.id))}
    }
    this.say(`Sending the Cancel message ${follow} to ${followUp.channels.join(', ')}:`)
    const signals = stopSignals((signal) => process.stderr.write(stoppingLine(signal) + '\n'))
    const progress = progressOnStderr(liveSnapshotReader(ctx.store, followUp.id).read, flags.quiet || this.jsonEnabled())
    let summary
    try {
      summary = await deliverQueued(ctx, {announcementId: followUp.id, stop: signals.stop, abort: signals.abort})
    } finally {
      progress?.stop()
      signals.dispose()
    }
    const followUpJson = reportDelivery(this, announcementStatus(ctx, followUp.id), ctx.config, signals.exitCode())
    reportUnusableChannels(summary, signals.exitCode())
    return {...json, followUp: followUpJson}
  }

  /**
   * The config does not load (a colleague's typo): stopping needs none, and a wrong message must
   * not go on going out while it is fixed. The Cancel message needs the config (its channels,
   * policy): exit 2 with the config's problems, saying to cancel again once it loads.
   */
  private async stopWithoutConfig(given: string, text: string | undefined, problem: ConfigError): Promise<never> {
    const ctx = await this.context({config: false})
    const id = resolveAnnouncementId(ctx, given)
    const result = cancelAnnouncement(ctx, id, text, {draftCancel: false})
    const stopped = result.stopped ? `stopped ${counted(result.stopped, 'delivery', 'deliveries')} not yet sent` : 'nothing was waiting to be sent'
    process.stderr.write(`Cancelled ${shortId(id)}: ${stopped}. The config does not load, so no Cancel message was drafted — fix it, then run crier cancel ${shortId(id)} again to tell the public:\n`)
    throw problem
  }
}

/**
 * What holds a drafted Cancel back: a policy finding that blocks it (put right first), its
 * approvals (another officer approves, then it can be broadcast), or both.
 */
function cancelHeldBy(ctx: CoreContext, id: string): {policy: boolean; approval: boolean} {
  const {findings, approvals} = previewAnnouncement(ctx, mustGet(ctx, id))
  return {policy: blockingFindings(findings).length > 0, approval: !approvals.satisfied}
}
