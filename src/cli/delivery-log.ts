import type {DispatchEvent} from '../engine/dispatcher.js'
import {oneLine} from '../core/terminal-text.js'

/** Deliveries of one announcement on one channel ending one way that are logged one by one; the rest are counted. */
const linesPerKind = 10

/**
 * The worker's log of deliveries: a line for each of the first few of an announcement on a
 * channel ending one way (sent, dead, …), then counts every `everyMs` — an alert to 48,000
 * residents is a handful of lines in the journal, not 48,000, and the lines that matter
 * (config reloads, a channel stopped) stay findable.
 */
export function deliveryLog(log: (event: Record<string, unknown>, text: string) => void, everyMs = 10_000) {
  const kinds = new Map<string, {announcement: string; channel: string; state: string; logged: number; counted: number}>()
  const flush = () => {
    // Kept, not deleted once quiet: a few numbers per announcement and channel for the worker's life.
    for (const kind of kinds.values()) {
      if (kind.counted === 0) continue
      log(
        {event: `deliveries-${kind.state}`, announcement: kind.announcement, channel: kind.channel, count: kind.counted},
        `${kind.channel} ${kind.counted} more ${kind.state} of ${kind.announcement} (crier status ${kind.announcement} has them all)`,
      )
      kind.counted = 0
    }
  }
  const timer = setInterval(flush, everyMs)
  timer.unref()
  return {
    add(event: DispatchEvent): void {
      const key = `${event.announcementId}\u0000${event.channel}\u0000${event.nextState}`
      const kind = kinds.get(key) ?? {announcement: event.announcementId, channel: event.channel, state: event.nextState, logged: 0, counted: 0}
      kinds.set(key, kind)
      if (kind.logged >= linesPerKind) {
        kind.counted++
        return
      }
      kind.logged++
      log({event: `delivery-${event.nextState}`, announcement: event.announcementId, channel: event.channel, delivery: event.deliveryId, error: event.error}, `${event.channel} ${event.deliveryId} ${event.nextState}${event.error ? `: ${oneLine(event.error, 200)}` : ''}`)
    },
    /** Logs what is counted and not yet logged, and stops the timer. */
    close(): void {
      clearInterval(timer)
      flush()
    },
  }
}
