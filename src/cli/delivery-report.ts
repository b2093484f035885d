import type {Config} from '../config/load.js'
import {ExitCode} from '../core/errors.js'
import {oneLine} from '../core/terminal-text.js'
import type {RunSummary} from '../engine/dispatcher.js'
import type {AnnouncementStatus} from '../engine/status.js'
import {broadcastSummaryLines} from '../views/broadcast-lines.js'
import {announcementJson} from '../views/format.js'

/**
 * How broadcast, cancel and status end: the per-channel summary on stdout (not with --json),
 * the exit code — a stopping signal's, else 4 when a delivery needs attention — and the
 * --json document.
 */
export function reportDelivery(command: {log(text: string): void; jsonEnabled(): boolean}, status: AnnouncementStatus, config: Config, signalExitCode?: number) {
  if (!command.jsonEnabled()) for (const line of broadcastSummaryLines(status, config)) command.log(line)
  if (signalExitCode) process.exitCode = signalExitCode
  else if (status.trouble > 0) process.exitCode = ExitCode.incomplete
  return statusJson(status)
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
