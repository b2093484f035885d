import type {Config} from '../config/load.js'
import type {CoreContext} from '../core/context.js'
import {counted} from '../core/counted.js'
import {shortId} from '../core/ids.js'
import {formatInZone} from '../core/when.js'
import {missingSecretLines} from './missing-secrets.js'
import {ExitCode} from '../core/errors.js'
import {oneLine} from '../core/terminal-text.js'
import type {RunSummary} from '../engine/dispatcher.js'
import type {AnnouncementStatus} from '../engine/status.js'
import {broadcastSummaryLines} from '../views/broadcast-lines.js'
import {wrap} from '../views/fit-width.js'
import {terminalWidth} from './terminal-width.js'
import {announcementJson} from '../views/format.js'

/**
 * How broadcast, cancel and status end: the per-channel summary on stdout (not with --json),
 * the exit code — a stopping signal's, else 4 when a delivery needs attention — and the
 * --json document.
 */
export function reportDelivery(command: {log(text: string): void; jsonEnabled(): boolean}, status: AnnouncementStatus, config: Config, signalExitCode?: number) {
  // On a terminal, fitted to its width: a long line would otherwise break inside a command's id.
  const width = terminalWidth()
  const fit = (line: string) => (width === undefined || line.length <= width ? [line] : wrap(line.trimStart(), width, /^ */.exec(line)![0]))
  if (!command.jsonEnabled()) for (const line of broadcastSummaryLines(status, config)) for (const fitted of fit(line)) command.log(fitted)
  if (signalExitCode) process.exitCode = signalExitCode
  else if (status.trouble > 0) process.exitCode = ExitCode.incomplete
  return statusJson(status)
}

/**
 * A waiting broadcast whose announcement another officer cancelled (or replaced by an Update)
 * while it sent: what was not sent is said on stderr, and it is not "out" — exit 4, not 0, for
 * a script's `crier broadcast ID && notify`.
 */
export function reportStoppedByOthers(status: {announcement: {id: string}; channels: Array<{cancelled: number}>}): void {
  const stopped = status.channels.reduce((n, channel) => n + channel.cancelled, 0)
  if (stopped === 0) return
  const id = shortId(status.announcement.id)
  process.stderr.write(`${counted(stopped, 'delivery', 'deliveries')} of ${id} ${stopped === 1 ? 'was' : 'were'} not sent: it was cancelled or updated while it was being sent (crier show ${id}).\n`)
  process.exitCode ??= ExitCode.incomplete
}

/**
 * A channel that could not send at all (credentials refused, settings incomplete): one line each
 * on stderr, and exit 1 — its deliveries are still queued, waiting for the config to be fixed.
 */
export function reportUnusableChannels(summary: RunSummary, signalExitCode?: number): void {
  const channels = Object.entries(summary.unusableChannels)
  for (const [channel, reason] of channels) {
    process.stderr.write(`Error: ${channel} cannot send: ${oneLine(reason, 300)} — its deliveries stay queued; once it is fixed, crier run sends them\n`)
  }
  if (channels.length > 0 && !signalExitCode) process.exitCode = ExitCode.failure
}

/** An announcement's delivery status in --json. */
export function statusJson(status: AnnouncementStatus) {
  return {...status, announcement: announcementJson(status.announcement)}
}

/**
 * Why deliveries of the announcement wait on a channel, beyond what status shows: a secret this
 * shell lacks, settings left out as wrong, a provider's pause. One line each, for stderr.
 */
export function waitingChannelNotes(ctx: CoreContext, announcementId: string): string[] {
  const notes: string[] = []
  const waiting = (channel: string) => ctx.store.deliveries.waitingOn(announcementId, channel)
  for (const line of missingSecretLines(ctx.config, Object.keys(ctx.config.missingSecrets ?? {}).filter(waiting))) notes.push(line)
  for (const [channel, problem] of Object.entries(ctx.config.brokenChannels ?? {})) {
    if (waiting(channel)) notes.push(`${channel} cannot send as configured here: ${oneLine(problem, 300)}`)
  }
  // A pause that outlasts the announcement: nothing waiting there goes after it.
  const expiresAt = ctx.store.announcements.get(announcementId)?.expiresAt ?? null
  const then = (pausedUntil: number) =>
    expiresAt !== null && expiresAt <= pausedUntil ? `: ${shortId(announcementId)} expires first (${formatInZone(expiresAt, ctx.config.timezone)}), so what waits there will expire unsent unless the pause ends sooner` : ': what waits goes after that'
  for (const line of pauseLines(ctx, waiting, then)) notes.push(line)
  return notes
}

/** "partners is paused until Fri 27 Nov … (HTTP 429 …)", then `then`, for each paused channel `waiting` says has work waiting. */
export function pauseLines(ctx: CoreContext, waiting: (channel: string) => boolean, then: string | ((pausedUntil: number) => string)): string[] {
  return ctx.store.deliveries
    .channelPauses(ctx.now())
    .filter((pause) => waiting(pause.channel))
    .map((pause) => `${pause.channel} is paused until ${formatInZone(pause.pausedUntil, ctx.config.timezone)} (${oneLine(pause.reason, 200)})${typeof then === 'string' ? then : then(pause.pausedUntil)}`)
}
