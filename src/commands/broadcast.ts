import {Args, Flags, type Interfaces} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {missingSecretLines} from '../cli/missing-secrets.js'
import {resolveAnnouncementId} from '../cli/args.js'
import {announcementFlags, statusFlag} from '../cli/draft-flags.js'
import {readStdinText} from '../cli/read-text.js'
import {reportDelivery, reportStoppedByOthers, reportUnusableChannels} from '../cli/delivery-report.js'
import {stopSignals, stoppingLine} from '../cli/stop-signals.js'
import {watchPauses} from '../cli/pause-notices.js'
import {ExitCode, UsageError} from '../core/errors.js'
import {splitChannelList} from '../core/fields.js'
import {shortId} from '../core/ids.js'
import {draftAndFanOut, fanOutOrResume} from '../engine/broadcast.js'
import type {FanOutResult} from '../engine/fan-out.js'
import {deliverQueued} from '../engine/deliver.js'
import {pastPendingEvents} from '../engine/past-pending-events.js'
import {areaReachLine} from '../views/area-reach-lines.js'
import {announcementStatus} from '../engine/status.js'
import {announcementJson} from '../views/format.js'
import {liveSnapshotReader} from '../engine/live-snapshot.js'
import {retryDeadAfterwards, retryDeadDeliveries} from '../engine/retry-dead.js'
import {openLiveView} from '../views/live/open-live-view.js'
import {progressOnStderr} from '../views/live/progress-lines.js'
import type {LiveViewSession} from '../views/live/session.js'
import {canShowLiveView, wantsColour} from '../views/live/terminal.js'
import {counted} from '../core/counted.js'

export default class Broadcast extends CrierCommand {
  static override description = 'Send an approved announcement to its channels now, or draft one from stdin (-) and send it.'
  static override allocatesInBulk = true
  static override startsHome = true
  static override examples = [
    '<%= config.bin %> broadcast 01JD5X',
    'echo "Water supply restored in Llandudno." | <%= config.bin %> broadcast - --severity Minor --channel website',
    '<%= config.bin %> broadcast 01JD5X --no-wait   # queue only; crier run or a worker sends',
    '<%= config.bin %> broadcast 01JD5X --retry-dead   # the outage is over: send again what its retries gave up on',
  ]
  static override args = {id: Args.string({description: 'Announcement id (any unique prefix), or - to draft from stdin.', required: true, ignoreStdin: true})}
  static override flags = {
    ...announcementFlags,
    ...statusFlag,
    'dry-run': Flags.boolean({description: 'Render and check everything; write and send nothing.'}),
    wait: Flags.boolean({description: 'Wait for delivery (--no-wait: queue and return).', default: true, allowNo: true}),
    quiet: Flags.boolean({description: 'Off a terminal (or with --json): no progress lines on stderr while waiting.'}),
    color: Flags.boolean({description: 'Colour in the live view (--no-color, or NO_COLOR set, turns it off).', default: true, allowNo: true}),
    override: Flags.boolean({description: 'Emergency override: send an Extreme announcement without its remaining approvals, where policy allows. Recorded and flagged until another officer runs crier review.'}),
    reason: Flags.string({description: 'Why the override cannot wait for approval (required unless policy says otherwise).', dependsOn: ['override']}),
    'retry-dead': Flags.boolean({
      description: 'Send again, with fresh attempts, the deliveries that ended dead through transient failures (timeouts, 5xx, dropped connections), also once it has finished. A provider refusal stays dead; unknown ones are never re-sent. Not with --override or --dry-run.',
    }),
  }

  async run() {
    const {args, flags} = await this.parse(Broadcast)
    // Checked here rather than as oclif's `exclusive`: one line in crier's own words (and a usage line without an empty choice).
    const clash = flags['retry-dead'] && (flags.override ? '--override' : flags['dry-run'] ? '--dry-run' : undefined)
    if (clash) throw new UsageError(`--retry-dead sends again what was approved and sent before — it takes no ${clash}; leave ${clash} out`)
    const held: {signals?: ReturnType<typeof stopSignals>} = {}
    try {
      return await this.broadcast(args, flags, held)
    } finally {
      held.signals?.dispose()
    }
  }

  private async broadcast(args: {id: string}, flags: Interfaces.InferredFlags<typeof Broadcast.flags>, held: {signals?: ReturnType<typeof stopSignals>}) {
    const ctx = await this.context()
    // A broadcast that waits hears SIGINT/SIGTERM from just before it queues (after any text is
    // read from stdin, where Ctrl-C must still end it at once): one during the queueing takes
    // effect once that has committed, and is reported with what stays queued — never a silent
    // exit that leaves thousands queued for the next cron run.
    let session: LiveViewSession | undefined
    const hearSignals = () => {
      if (flags['dry-run']) return
      // --no-wait: queueing, and the line naming what was queued, is all it does. A signal is
      // heard, so it finishes them and exits 0 — not Node's default, death between the commit and
      // that line (queued, and a script told nothing, which then broadcasts it again).
      if (!flags.wait) {
        held.signals ??= stopSignals()
        return
      }
      held.signals ??= stopSignals((signal) => {
        // The live view is on a terminal whatever stopped it: there Ctrl-C aborts too.
        if (session) session.stopping(stoppingLine(signal, true))
        else process.stderr.write(stoppingLine(signal) + '\n')
      })
    }
    const dryRun = flags['dry-run']
    const override = flags.override ? {reason: flags.reason} : undefined
    let result: FanOutResult & {resumed?: true}
    if (args.id === '-') {
      const {file, channel, 'dry-run': _dry, wait: _wait, quiet: _quiet, color: _color, override: _override, reason: _reason, 'retry-dead': retryDead, ...fields} = flags
      if (retryDead) throw new UsageError('--retry-dead takes the id of an announcement sent before, not -')
      if (file !== undefined) throw new UsageError('broadcast - reads stdin; --file is for crier draft')
      const text = readStdinText()
      hearSignals()
      result = draftAndFanOut(ctx, {...fields, text, channels: splitChannelList(channel ?? [])}, {dryRun, override, requireSecrets: flags.wait})
    } else {
      // Text where the id goes: the officer meant to draft and send in one step.
      if (/\s/.test(args.id.trim())) throw new UsageError(`"${args.id}" is not an announcement id — to draft and send text in one step, pipe it in: echo "…" | crier broadcast - --severity … --channel …`)
      const id = resolveAnnouncementId(ctx, args.id)
      // Fields go with `broadcast -` only: given with an ID they would be silently ignored, and
      // the officer who typed --severity Extreme would send what was approved, not that.
      const fields = [...Object.keys(announcementFlags), ...Object.keys(statusFlag)].filter((name) => name !== 'channel' && flags[name as keyof typeof flags] !== undefined)
      if (flags.channel?.length) fields.push('channel')
      if (fields.length) {
        throw new UsageError(`${fields.map((name) => `--${name}`).join(', ')} ${fields.length === 1 ? 'changes' : 'change'} a draft, not a broadcast — crier edit ${shortId(id)} ${fields.map((name) => `--${name} …`).join(' ')} first (it then needs approving again where policy says), or broadcast - to draft and send in one step`)
      }
      hearSignals()
      if (flags['retry-dead']) {
        const retried = retryDeadAfterwards(ctx, id)
        if (retried.requeued === 0) {
          this.say(`Nothing to retry: no delivery of ${shortId(id)} ended dead through a transient failure${retried.announcement.state === 'sending' ? ' (it is still sending)' : ''}.`)
          return {...announcementStatus(ctx, id), announcement: announcementJson(retried.announcement), queued: 0, targeting: []}
        }
        this.logToStderr(`Retrying ${counted(retried.requeued, 'dead delivery', 'dead deliveries')} of ${shortId(id)}: ${Object.entries(retried.byChannel).map(([channel, n]) => `${channel} ${n}`).join(', ')}.`)
        result = {announcement: retried.announcement, findings: [], queued: retried.requeued, dryRun: false, targeting: []}
      } else result = fanOutOrResume(ctx, id, {dryRun, override, requireSecrets: flags.wait})
    }
    const resumed = result.resumed === true
    const id = result.announcement.id
    for (const finding of result.findings) this.logToStderr(`Policy ${finding.level}: ${finding.message}`)
    for (const reach of result.targeting) this.logToStderr(`Targeted: ${areaReachLine(reach)}`)
    if (override) this.logToStderr(overrideNotice(result.overridden === true, dryRun, ctx.user, id))
    const superseded = result.superseded && (result.superseded.stopped || result.superseded.held) ? {superseded: result.superseded} : {}
    if (superseded.superseded) {
      const {stopped, held, id} = superseded.superseded
      const heldWords = held ? `; ${counted(held, 'delivery', 'deliveries')} held by a sender: any already on the wire finish, the rest are let go unsent` : ''
      this.logToStderr(`Superseded: stopped ${counted(stopped, 'delivery', 'deliveries')} of ${shortId(id)} not yet sent${heldWords} — they carried the words this Update replaces`)
    }
    if (dryRun) {
      // A dry run of `broadcast -` drafted nothing: the id its rehearsal drew names nothing
      // afterwards, and a script that kept it would get exit 2 from crier status.
      const isDrafted = args.id !== '-'
      this.say(`Dry run: ${isDrafted ? shortId(id) : 'it'} would go to ${result.announcement.channels.join(', ')}; nothing was written or sent.`)
      // Nor was it ever in a state, nor issued. `channels` is a sent broadcast's per-channel
      // counts: what a dry run would send to is another thing, under another name.
      const announcement = isDrafted ? announcementJson(result.announcement) : {...announcementJson(result.announcement), id: null, shortId: null, identifier: null, state: null, issuedAt: null}
      return {announcement, dryRun: true, findings: result.findings, wouldGoTo: result.announcement.channels, targeting: result.targeting}
    }
    if (resumed) this.logToStderr(`${shortId(id)} was queued already and is not queued twice: ${flags.wait ? 'sending what still waits' : 'crier run or a worker will send what still waits'}.`)
    if (!flags.wait && resumed) return {...announcementStatus(ctx, id), announcement: announcementJson(result.announcement), queued: 0, targeting: []}
    if (!flags.wait) {
      for (const line of missingSecretLines(ctx.config, result.announcement.channels)) this.logToStderr(`Note: ${line}`)
      this.say(`Queued ${shortId(id)}: ${counted(result.queued, 'delivery', 'deliveries')}. crier run or a worker will send ${result.queued === 1 ? 'it' : 'them'}.`)
      return {...announcementStatus(ctx, id), announcement: announcementJson(result.announcement), queued: result.queued, targeting: result.targeting, ...superseded}
    }

    // Live view on a terminal (Ink, imported only here); otherwise a progress line a second on
    // stderr, or none with --quiet. Either way the summary below goes to stdout.
    const reader = liveSnapshotReader(ctx.store, id)
    const detach = new AbortController()
    // Heard since before the queueing by every broadcast that waits, as this one does (dry runs returned above).
    const stop = held.signals!
    // A signal that came while the queueing held this thread is handed to its handler now,
    // before anything is sent.
    await pastPendingEvents()
    // Stopped while it was queued: no view to open, only what stays queued to say.
    const isLive = canShowLiveView(this.jsonEnabled()) && !stop.stop.aborted
    let progress = isLive ? undefined : progressOnStderr(reader.read, flags.quiet)
    // Sending starts now; the view (Ink takes a moment to load) catches up with it.
    const delivering = deliverQueued(ctx, {announcementId: id, stop: AbortSignal.any([stop.stop, detach.signal]), abort: stop.abort})
    // A provider's pause, said once (not a progress line: with --quiet too); with only long ones
    // left to wait for, it returns as --no-wait would (engine/pause-wait.ts).
    let leftForPauses = false
    const pauses = watchPauses(ctx, id, {
      say: (line) => (session ? session.notice(line) : process.stderr.write(line + '\n')),
      leave: () => {
        leftForPauses = true
        detach.abort()
      },
    })
    let closedView: LiveViewSession | undefined
    try {
      if (isLive) {
        session = await openLiveView(import('../views/live/session.js'), {
          role: 'sender',
          read: reader.read,
          retry: () => retryDeadDeliveries(ctx, id),
          // q, confirmed: stop claiming; what is in flight finishes, what was claimed goes back.
          detach: () => detach.abort(),
          // Raw mode turns Ctrl-C into a key: hand it to the same handler as the signal.
          interrupt: () => process.kill(process.pid, 'SIGINT'),
          colour: wantsColour(flags.color),
        })
        if (!session) progress = progressOnStderr(reader.read, flags.quiet)
      }
    } finally {
      try {
        await delivering
      } finally {
        pauses.stop()
        progress?.stop()
        await session?.close(stop.exitCode() ? 'stopped' : leftForPauses ? 'paused' : detach.signal.aborted ? 'detached' : 'done')
        // Closed: a signal from here on is said on stderr.
        closedView = session
        session = undefined
      }
    }
    // The view showed only the latest notice: below its last frame, why each channel was left.
    if (closedView && leftForPauses && !stop.exitCode()) for (const line of pauses.leftLines()) process.stderr.write(line + '\n')
    const report = reportDelivery(this, announcementStatus(ctx, id), ctx.config, stop.exitCode())
    reportUnusableChannels(await delivering, stop.exitCode())
    const leftQueued = pauses.left()
    // Left on a channel paused past its expiry: those will not go, which a script must hear.
    if (leftQueued.some((pause) => pause.outlastsExpiry) && !stop.exitCode() && !process.exitCode) process.exitCode = ExitCode.incomplete
    if (!stop.exitCode()) reportStoppedByOthers(report)
    return {...report, ...superseded, ...(leftQueued.length > 0 && {leftQueued})}
  }
}

function overrideNotice(isOverridden: boolean, dryRun: boolean, user: string, id: string): string {
  if (!isOverridden) return `Override not needed: ${shortId(id)} has its approvals, so it goes the ordinary way.`
  // A dry run names no id: from stdin, none exists afterwards.
  if (dryRun) return `Emergency override by ${user} would be recorded; the announcement would be flagged until another officer reviews it (crier review).`
  return `Emergency override by ${user} recorded; ${shortId(id)} is flagged until another officer runs crier review ${shortId(id)}.`
}
