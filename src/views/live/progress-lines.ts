import type {LiveSnapshot} from '../../engine/live-snapshot.js'
import {shortId} from '../../core/ids.js'
import {formatCount, formatDuration} from './format.js'
import {pollSnapshots, type Poller} from './poll.js'

// Off a terminal (a pipe, a log file, cron) or with --json: a plain line on stderr at most once
// a second, only when something changed, so a log shows progress without a line per delivery.
// No Ink here: this path must never load it.

/** "0:03 01JD5XABCDEF partners sent 620/1,000, failed 3, dead 1; website sent 1/1" */
export function progressLine(snapshot: LiveSnapshot): string {
  const elapsed = snapshot.startedAt === null ? '0:00' : formatDuration(snapshot.at - snapshot.startedAt)
  return `${elapsed} ${shortId(snapshot.announcement.id)} ${channelsText(snapshot)}`
}

function channelsText(snapshot: LiveSnapshot): string {
  return snapshot.channels
    .map((c) => {
      const parts = [`sent ${formatCount(c.sent)}/${formatCount(c.total)}`]
      if (c.failed) parts.push(`failed ${formatCount(c.failed)}`)
      if (c.dead) parts.push(`dead ${formatCount(c.dead)}`)
      if (c.unknown) parts.push(`unknown ${formatCount(c.unknown)}`)
      if (c.expired) parts.push(`expired ${formatCount(c.expired)}`)
      return `${c.channel} ${parts.join(', ')}`
    })
    .join('; ')
}

/** Writes a progress line each second while something changes; stop() ends it (and writes nothing more). */
export function startProgressLines(read: () => LiveSnapshot, write: (line: string) => void, everyMs = 1000): Poller {
  let last = ''
  return pollSnapshots(
    read,
    (snapshot) => {
      const now = channelsText(snapshot)
      if (now === last) return
      last = now
      write(progressLine(snapshot))
    },
    () => {
      // A read that failed (the database busy with a checkpoint): the next second tries again.
    },
    {intervalMs: everyMs},
  )
}

/** Progress lines on stderr, or none with --quiet. */
export function progressOnStderr(read: () => LiveSnapshot, quiet: boolean): Poller | undefined {
  return quiet ? undefined : startProgressLines(read, (line) => process.stderr.write(line + '\n'))
}
