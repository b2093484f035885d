import type {Announcement} from '../core/announcement.js'
import {primaryVariant} from '../core/announcement.js'
import {drillWord, isDrill} from '../core/drill.js'
import type {Superseded} from '../core/superseded.js'
import type {Schedule} from '../store/schedules.js'
import {shortId} from '../core/ids.js'
import {counted} from '../core/counted.js'
import {stripTerminalControls} from '../core/terminal-text.js'

// Plain-text formatting shared by commands: pure functions, no I/O, no colour decisions.

/** "2026-11-27T18:00:00Z": for the audit trail and reports, which speak UTC as their exports do. */
export function formatUtc(ms: number | undefined): string {
  return ms === undefined ? '—' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

const clocks = new Map<string, Intl.DateTimeFormat>()

/** "2026-11-28 07:00 GMT+13": a time as the clocks of the configured zone show it, as schedule echoes it. */
export function formatTime(ms: number | undefined | null, timeZone: string): string {
  if (ms == null) return '—'
  let clock = clocks.get(timeZone)
  if (!clock) {
    clock = new Intl.DateTimeFormat('en-GB', {timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', timeZoneName: 'short'})
    clocks.set(timeZone, clock)
  }
  const part = Object.fromEntries(clock.formatToParts(new Date(ms)).map((p) => [p.type, p.value]))
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute} ${part.timeZoneName}`
}

export function announcementLine(a: Announcement, timeZone: string, superseded?: Superseded, schedule?: Schedule): string {
  const headline = stripTerminalControls(primaryVariant(a).headline)
  return `${shortId(a.id)}  ${a.state.padEnd(18)} ${a.severity.padEnd(8)} ${formatTime(a.createdAt, timeZone)}  ${supersededFlag(superseded)}${drillFlag(a)}${a.rejectReason ? '[REJECTED] ' : ''}${overrideFlag(a)}${scheduleFlag(schedule, timeZone)}${headline}`
}

/** "[goes 2026-11-27 07:30 GMT] ", "[next 2026-12-01 08:00 GMT, cron] ": when a scheduled one goes out is what its officer asks first. */
export function scheduleFlag(schedule: Schedule | undefined, timeZone: string): string {
  if (schedule?.nextDueAt == null) return ''
  return schedule.kind === 'cron' ? `[next ${formatTime(schedule.nextDueAt, timeZone)}, cron] ` : `[goes ${formatTime(schedule.nextDueAt, timeZone)}] `
}

/** How a schedule runs, in words: "once" or `cron "0 8 * * TUE" Europe/London, until …` (the until in the schedule's own zone). */
export function scheduleHow(schedule: Pick<Schedule, 'kind' | 'cron' | 'timeZone'> & {untilAt?: number | null}): string {
  if (schedule.kind !== 'cron') return 'once'
  return `cron "${schedule.cron}" ${schedule.timeZone}${schedule.untilAt != null ? `, until ${formatTime(schedule.untilAt, schedule.timeZone)}` : ''}`
}

/** The JSON shape of an active schedule, beside an announcement in list and show. */
export function scheduleJson(schedule: Schedule | undefined) {
  if (!schedule) return {}
  const {id, kind, cron, timeZone, nextDueAt, untilAt, createdBy, createdAt} = schedule
  return {schedule: {id, kind, cron, timeZone, nextDueAt, untilAt, createdBy, createdAt}}
}

/** "[CANCELLED by 01JE…] " or "[updated by 01JE…] ": sent is not the whole story once a follow-up went out. */
export function supersededFlag(superseded: Superseded | undefined): string {
  if (superseded?.cancelledBy) return `[CANCELLED by ${shortId(superseded.cancelledBy)}] `
  if (superseded?.cancelNotSent) return `[CANCEL NOT SENT YET: ${shortId(superseded.cancelNotSent)}] `
  if (superseded?.cancelledWithoutMessage) return superseded.cancelledWithoutMessage.expired ? '[CANCELLED after it expired] ' : '[CANCELLED] '
  if (superseded?.updatedBy) return `[updated by ${shortId(superseded.updatedBy)}] `
  return ''
}

/** "[EXERCISE] ", "[TEST] " …: in a list of announcements a drill must not pass for an emergency. */
export function drillFlag(a: Pick<Announcement, 'status'>): string {
  return isDrill(a.status) ? `[${drillWord(a.status)}] ` : ''
}

/** "OVERRIDE — not yet reviewed" until another officer runs crier review; then a quieter mark. */
export function overrideFlag(a: Announcement): string {
  if (!a.override) return ''
  return a.override.reviewedBy ? '[override, reviewed] ' : '[OVERRIDE — not yet reviewed] '
}

/** The JSON shape of an announcement in every --json output. */
export function announcementJson(a: Announcement) {
  return {...a, shortId: shortId(a.id), headline: primaryVariant(a).headline}
}

export function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length)
}

/** "2 emergency overrides not yet reviewed — another officer runs crier review 01M8…, crier review 01M9…" */
export function unreviewedOverridesLine(ids: string[]): string {
  return `${counted(ids.length, 'emergency override')} not yet reviewed — another officer runs ${ids.map((id) => `crier review ${shortId(id)}`).join(', ')}`
}
