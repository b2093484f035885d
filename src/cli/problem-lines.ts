import type {DispatchEvent} from '../engine/dispatcher.js'
import {oneLine} from '../core/terminal-text.js'

const linesPerKind = 10

/**
 * A delivery that ended dead, unknown or expired, as one stderr line for whoever reads the cron
 * mail: the first few per channel and state, then, at close, how many more and where to look.
 */
export function problemLines(write: (line: string) => void) {
  const counts = new Map<string, {channel: string; state: string; count: number}>()
  return {
    add(event: DispatchEvent): void {
      const key = `${event.channel}\u0000${event.nextState}`
      const seen = counts.get(key) ?? {channel: event.channel, state: event.nextState, count: 0}
      counts.set(key, seen)
      if (++seen.count <= linesPerKind) write(`crier: ${event.channel} delivery ${event.deliveryId} ${event.nextState}: ${oneLine(event.error ?? '', 200)}`)
    },
    close(): void {
      for (const {channel, state, count} of counts.values()) {
        if (count > linesPerKind) write(`crier: … and ${count - linesPerKind} more ${state} on ${channel} (crier status shows them)`)
      }
    },
  }
}
