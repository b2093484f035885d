import {Args, Flags} from '@oclif/core'
import {CrierCommand} from '../cli/base-command.js'
import {resolveAnnouncementId} from '../cli/args.js'
import {stopSignals} from '../cli/stop-signals.js'
import {UsageError} from '../core/errors.js'
import {splitNameList} from '../core/fields.js'
import {oneLine} from '../core/terminal-text.js'
import {shortId} from '../core/ids.js'
import {liveSnapshotReader, type LiveSnapshotReader} from '../engine/live-snapshot.js'
import {retryDeadDeliveries} from '../engine/retry-dead.js'
import type {CoreContext} from '../core/context.js'
import {supersededBy} from '../core/superseded.js'
import {announcementLine, formatTime} from '../views/format.js'
import {pollSnapshots} from '../views/live/poll.js'
import {openLiveView} from '../views/live/open-live-view.js'
import {progressOnStderr} from '../views/live/progress-lines.js'
import {terminalWidth} from '../cli/terminal-width.js'
import {canShowLiveView, wantsColour} from '../views/live/terminal.js'
import {noticePauses} from '../cli/pause-notices.js'

export default class Status extends CrierCommand {
  static override readsOnly = true
  static override description = 'Delivery state per channel of one announcement (--watch follows it until every delivery is final); without an ID, the shift-start dashboard: what is sending, scheduled next, waiting for approval, and what went wrong in the last 24 h.'
  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status 01JD5X',
    '<%= config.bin %> status 01JD5X --watch   # live view of a broadcast crier run or a worker is sending',
    '<%= config.bin %> status --json',
  ]
  static override args = {id: Args.string({description: 'Announcement id (any unique prefix).', ignoreStdin: true})}
  static override flags = {
    watch: Flags.boolean({char: 'w', description: 'Follow delivery until every delivery is final: the live view on a terminal, a progress line a second on stderr otherwise.'}),
    quiet: Flags.boolean({description: 'With --watch off a terminal (or with --json): no progress lines on stderr.'}),
    color: Flags.boolean({description: 'Colour in the live view (--no-color, or NO_COLOR set, turns it off).', default: true, allowNo: true}),
    deliveries: Flags.string({
      description: 'Also list the deliveries in these states — who each was for, on which channel, why — to check with the provider: unknown, dead, expired, skipped, cancelled (repeatable or a comma list; the first 200).',
      multiple: true,
      multipleNonGreedy: true,
    }),
  }

  async run() {
    const {args, flags} = await this.parse(Status)
    const states = flags.deliveries ? listedStates(flags.deliveries) : undefined
    if (states && !args.id) throw new UsageError('--deliveries lists one announcement’s — crier status ID --deliveries unknown')
    // An empty id is a script's unset variable, not a request for the overview.
    if (args.id !== undefined && !args.id.trim()) throw new UsageError('the announcement id is empty — give an id, or none for the overview: crier status')
    if (!args.id) {
      if (flags.watch) throw new UsageError('--watch follows one announcement — crier status ID --watch')
      return this.dashboard()
    }
    const isLive = flags.watch && canShowLiveView(this.jsonEnabled())
    // Ink takes longer to import than everything else here: start it before opening the store.
    const view = isLive ? import('../views/live/session.js').then((module) => (void module.preloadLiveView().catch(() => {}), module)) : undefined
    // The watch reads only the store; the config is loaded for the summary at the end.
    const readCtx = await this.context({config: false})
    const id = resolveAnnouncementId(readCtx, args.id)
    let interrupted = false
    const reader = flags.watch ? liveSnapshotReader(readCtx.store, id) : undefined
    let watched = false
    /** Follows it, if it has been broadcast: before that there is nothing to follow, and it says where it stands, as without --watch. */
    const watchIfStarted = async () => {
      if (!reader || watched || reader.read().startedAt === null) return
      watched = true
      interrupted = view ? await this.watchLive(readCtx, id, reader, view, flags.color, flags.quiet) : await this.watchPlain(readCtx, id, reader, flags.quiet)
    }
    await watchIfStarted()
    // Imported here, not at the top: they load the channel drivers and policy, which the first
    // frame of --watch does not need.
    const [{announcementStatus}, {reportDelivery, waitingChannelNotes}, {missedOneOff}] = await Promise.all([import('../engine/status.js'), import('../cli/delivery-report.js'), import('../core/missed-one-off.js')])
    const ctx = await this.context({brokenChannelsAside: true})
    // Broadcast since the first look (a colleague's broadcast a moment ago): followed after all.
    await watchIfStarted()
    const status = announcementStatus(ctx, id)
    const missedSchedule = status.channels.length === 0 ? missedOneOff(ctx, status.announcement) : undefined
    if (!this.jsonEnabled()) {
      this.log(announcementLine(status.announcement, this.timeZone(), supersededBy(ctx, [id]).get(id)))
      if (missedSchedule) this.log(`Its schedule for ${formatTime(missedSchedule.dueAt, this.timeZone())} was missed — ${oneLine(missedSchedule.reason, 300)}`)
      if (status.channels.length === 0) this.log(`Not sent yet. Next: ${nextStepBeforeSending(status.announcement)}`)
    }
    for (const note of waitingChannelNotes(ctx, id)) this.logToStderr(`Note: ${note}`)
    const report = {...reportDelivery(this, status, ctx.config, interrupted ? 130 : undefined), ...(missedSchedule && {missedSchedule})}
    if (!states) return report
    const listed = ctx.store.deliveries.listInStates(id, states, listedAtMost)
    // Imported only when asked: it loads the drivers, which the first frame of --watch does without.
    if (!this.jsonEnabled()) for (const line of (await import('../views/delivery-list-lines.js')).deliveryListLines(listed, ctx.config)) this.log(line)
    return {...report, deliveries: listed.deliveries, deliveriesInAll: listed.total}
  }

  /** The live view until every delivery is final, q, or Ctrl-C (true). */
  private async watchLive(ctx: CoreContext, id: string, reader: LiveSnapshotReader, view: Promise<typeof import('../views/live/session.js')>, colourFlag: boolean, quiet: boolean): Promise<boolean> {
    const session = await openLiveView(view, {role: 'watcher', read: reader.read, retry: () => retryDeadDeliveries(ctx, id), interrupt: () => {}, colour: wantsColour(colourFlag)})
    if (!session) return this.watchPlain(ctx, id, reader, quiet)
    // r writes; a line about waiting for the lock would land inside the frame.
    ctx.store.waitQuietly()
    const signals = stopSignals()
    const pauses = noticePauses(ctx, id, this.timeZone(), (line) => session.notice(line))
    try {
      // Ctrl-C is a key while the view reads keys; a signal still ends the watch.
      const signalled = new Promise<'interrupted'>((resolve) => signals.stop.addEventListener('abort', () => resolve('interrupted')))
      const end = await Promise.race([session.ended, signalled])
      await session.close(end === 'final' ? 'done' : 'quit')
      return end === 'interrupted'
    } finally {
      pauses.stop()
      signals.dispose()
    }
  }

  /** Off a terminal: a progress line a second on stderr (none with --quiet) until every delivery is final, or a signal (true). */
  private async watchPlain(ctx: CoreContext, id: string, reader: LiveSnapshotReader, quiet: boolean): Promise<boolean> {
    const signals = stopSignals()
    const progress = progressOnStderr(reader.read, quiet)
    const pauses = quiet ? undefined : noticePauses(ctx, id, this.timeZone(), (line) => process.stderr.write(line + '\n'))
    try {
      return await new Promise<boolean>((resolve, reject) => {
        const poller = pollSnapshots(
          reader.read,
          (snapshot) => {
            if (!snapshot.isFinal) return
            poller.stop()
            resolve(false)
          },
          reject,
        )
        signals.stop.addEventListener('abort', () => {
          poller.stop()
          resolve(true)
        })
      })
    } finally {
      progress?.stop()
      pauses?.stop()
      signals.dispose()
    }
  }

  private async dashboard() {
    const [{shiftDashboard}, {dashboardLines}, {statusJson}] = await Promise.all([import('../engine/dashboard.js'), import('../views/dashboard-lines.js'), import('../cli/delivery-report.js')])
    const ctx = await this.context({brokenChannelsAside: true})
    const board = shiftDashboard(ctx)
    if (!this.jsonEnabled()) for (const line of dashboardLines(board, ctx.config, terminalWidth())) this.log(line)
    return {
      ...board,
      sending: board.sending.map(statusJson),
    }
  }
}

/** How many deliveries --deliveries lists (then says how many more). */
const listedAtMost = 200
const listable = ['unknown', 'dead', 'expired', 'skipped', 'cancelled'] as const

function listedStates(given: string[]): Array<(typeof listable)[number]> {
  const states = splitNameList(given, '--deliveries', `expected ${listable.join(', ')}`)
  const unknown = states.filter((state) => !(listable as readonly string[]).includes(state))
  if (unknown.length) throw new UsageError(`--deliveries ${unknown.join(', ')}: expected ${listable.join(', ')}`)
  return states as Array<(typeof listable)[number]>
}

/** What to do with an announcement not sent yet: approval first where it waits for one. */
function nextStepBeforeSending(announcement: {id: string; state: string}): string {
  const id = shortId(announcement.id)
  if (announcement.state === 'pending_approval') return `another officer approves it (crier approve ${id}), then crier broadcast ${id}`
  if (announcement.state === 'scheduled') return `it goes when its schedule fires (crier unschedule ${id} to send it now instead)`
  return `crier broadcast ${id}`
}
