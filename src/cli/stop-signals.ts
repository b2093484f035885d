import {setMaxListeners} from 'node:events'

/**
 * SIGINT/SIGTERM handling for commands that send: the first signal stops claiming and lets
 * in-flight sends finish (nothing is left `sending`); a second aborts what is in flight.
 */
export function stopSignals(onFirst?: (signal: NodeJS.Signals) => void) {
  const stop = new AbortController()
  const abort = new AbortController()
  // Every send in flight listens on abort: dozens at once is normal, not a leak.
  setMaxListeners(0, stop.signal, abort.signal)
  let received: NodeJS.Signals | undefined
  const handler = (signal: NodeJS.Signals) => {
    if (!received) {
      received = signal
      onFirst?.(signal)
      stop.abort()
    } else {
      abort.abort()
    }
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return {
    stop: stop.signal,
    abort: abort.signal,
    /** The conventional exit code after a signal: 128 + its number. */
    exitCode: () => (received === 'SIGINT' ? 130 : received === 'SIGTERM' ? 143 : undefined),
    dispose() {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
    },
  }
}
