import {Flags} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {missingSecretLines} from '../cli/missing-secrets.js'
import {idArg, resolveAnnouncementId} from '../cli/args.js'
import {mustGet, recordPreview} from '../core/approval.js'
import {ExitCode, UsageError} from '../core/errors.js'
import {splitChannelList} from '../core/fields.js'
import {blockingFindings} from '../core/policy/check.js'
import {unreachedByArea} from '../core/area-reach.js'
import {previewAnnouncement} from '../core/preview.js'
import {redact} from '../config/secrets.js'
import {announcementJson} from '../views/format.js'
import {previewText} from '../views/preview-text.js'

export default class Preview extends CrierCommand {
  static override readsOnly = true
  static override description = 'Show exactly what each channel will publish, with lengths and policy findings.'
  static override examples = ['<%= config.bin %> preview 01JD5X', '<%= config.bin %> preview 01JD5X --channel website --json']
  static override args = {id: idArg}
  static override flags = {channel: Flags.string({char: 'c', description: 'Only these channels (a comma list).'})}

  async run() {
    const {args, flags} = await this.parse(Preview)
    const ctx = await this.context()
    const announcement = mustGet(ctx, resolveAnnouncementId(ctx, args.id))
    // A comma list, as draft takes; given but empty (a script's "$CHANNEL") is refused, not taken as all.
    const channels = flags.channel === undefined ? undefined : splitChannelList([flags.channel])
    const unknown = channels?.find((channel) => !announcement.channels.includes(channel))
    if (unknown) {
      throw new UsageError(`${unknown} is not one of this announcement's channels (${announcement.channels.join(', ')}) — name one of those, or leave out --channel for all`)
    }
    const preview = previewAnnouncement(ctx, announcement, channels)
    // What this officer read: an approval by them later is of this text (approveAnnouncement).
    recordPreview(ctx, announcement)
    this.say(previewText(preview))
    // crier broadcast from here would be refused for these: say so before the officer finds out.
    for (const line of missingSecretLines(ctx.config, [...new Set(preview.channels.map((c) => c.channel))])) this.logToStderr(`Note: ${line}; crier broadcast --no-wait queues it for one`)
    // A policy error would refuse it: exit 3, so `crier preview ID && crier broadcast ID` means
    // what it says; an area that takes in nobody on a channel would be refused as bad input: 2.
    const unreached = unreachedByArea(preview.targeting)
    for (const line of unreached) this.logToStderr(`Error: crier broadcast would refuse it: ${line}`)
    if (blockingFindings(preview.findings).length) process.exitCode = ExitCode.refused
    else if (unreached.length) process.exitCode = ExitCode.usage
    return {
      announcement: announcementJson(announcement),
      channels: preview.channels.map((c) => ({...c, parts: c.parts.map((p) => ({...p, label: redact(p.label), text: redact(p.text)}))})),
      findings: preview.findings,
      // Of each e-mail or SMS list, whom the area takes in (empty when it does not target).
      targeting: preview.targeting,
      approvals: {required: preview.approvals.required, valid: preview.approvals.valid.length, satisfied: preview.approvals.satisfied},
    }
  }
}
