import type {Config} from '../config/load.js'
import {ExitCode} from '../core/errors.js'
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

/** An announcement's delivery status in --json. */
export function statusJson(status: AnnouncementStatus) {
  return {...status, announcement: announcementJson(status.announcement)}
}
