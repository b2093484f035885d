import type {CoreContext} from '../core/context.js'
import {shortId} from '../core/ids.js'
import {oneLine} from '../core/terminal-text.js'
import {formatInZone} from '../core/when.js'
import {counted} from '../core/counted.js'
import {longPauseMs, pausesHolding, type PauseHolding} from '../engine/pause-wait.js'

/**
 * While a broadcast waits: says once per channel that a provider paused it, until when and
 * why, and whether the broadcast waits for it (see engine/pause-wait.ts); calls `leave` once
 * only long pauses are left to wait for. `left()` is what it left queued.
 */
export function watchPauses(ctx: CoreContext, announcementId: string, options: {say: (line: string) => void; leave: () => void; everyMs?: number}) {
  /** What was said, per channel. */
  const told = new Map<string, string>()
  let left: PauseHolding[] = []
  const look = () => {
    const {pauses, onlyLongPausesLeft} = pausesHolding(ctx, announcementId)
    for (const pause of pauses) {
      if (told.has(pause.channel)) continue
      const line = pauseLine(ctx, announcementId, pause)
      told.set(pause.channel, line)
      options.say(line)
    }
    if (onlyLongPausesLeft && left.length === 0) {
      left = pauses.filter((pause) => pause.isLong)
      options.leave()
    }
  }
  const timer = everyQuietly(look, options.everyMs ?? 500)
  return {
    stop: () => clearInterval(timer),
    left: () => left,
    /** What was said of the channels it left queued (a live view shows only the latest notice). */
    leftLines: () => left.map((pause) => told.get(pause.channel)).filter((line) => line !== undefined),
  }
}

/**
 * While someone watches (status --watch): says once per pause that a channel waits for its
 * provider, until when and why. Without it the view shows only the last error and no ETA, and
 * looks stuck: an officer might send it again by hand.
 */
export function noticePauses(ctx: CoreContext, announcementId: string, zone: string, say: (line: string) => void, everyMs = 500): {stop(): void} {
  const told = new Set<string>()
  const timer = everyQuietly(() => {
    for (const pause of pausesHolding(ctx, announcementId).pauses) {
      const key = `${pause.channel} ${pause.pausedUntil}`
      if (told.has(key)) continue
      told.add(key)
      say(`${pause.channel} is paused until ${formatInZone(pause.pausedUntil, zone)} (${oneLine(pause.reason, 200)}): ${counted(pause.pending, 'delivery', 'deliveries')} there ${pause.pending === 1 ? 'waits' : 'wait'} for it.`)
    }
  }, everyMs)
  return {stop: () => clearInterval(timer)}
}

/** Looks every `everyMs`; a look that met another process's lock is simply made again at the next. */
function everyQuietly(look: () => void, everyMs: number): NodeJS.Timeout {
  return setInterval(() => {
    try {
      look()
    } catch {
      // A read that met another process's lock: the next one tries again.
    }
  }, everyMs)
}

function pauseLine(ctx: CoreContext, announcementId: string, pause: PauseHolding): string {
  const zone = ctx.config.timezone
  const paused = `${pause.channel} is paused until ${formatInZone(pause.pausedUntil, zone)} (${oneLine(pause.reason, 200)})`
  if (!pause.isLong) return `${paused}: waiting for it — Ctrl-C leaves what waits queued for crier run.`
  const deliveries = `${counted(pause.pending, 'delivery', 'deliveries')} there ${pause.pending === 1 ? 'stays' : 'stay'} queued`
  if (pause.outlastsExpiry) {
    const expiresAt = ctx.store.announcements.get(announcementId)!.expiresAt!
    return `${paused}, after ${shortId(announcementId)} expires (${formatInZone(expiresAt, zone)}): not waiting — its ${deliveries}, and will expire unsent unless the pause ends sooner.`
  }
  return `${paused}, more than ${longPauseMs / 60_000} min away: not waiting — its ${deliveries}; crier run or a worker sends ${pause.pending === 1 ? 'it' : 'them'} when the pause ends.`
}
