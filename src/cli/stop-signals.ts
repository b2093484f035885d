import {setMaxListeners} from 'node:events'

/**
 * SIGINT/SIGTERM handling for commands that send: the first signal stops claiming and lets
 * in-flight sends finish (nothing is left `sending`); a second aborts what is in flight. SIGHUP
 * too — an SSH session that drops ends a foreground broadcast with it, and Node's default for it
 * is to die at once, mid-send — except where it means something else (a worker reloads on it).
 */
export function stopSignals(onFirst?: (signal: NodeJS.Signals) => void, options: {hangUp?: boolean} = {}) {
  const signals: NodeJS.Signals[] = options.hangUp === false ? ['SIGINT', 'SIGTERM'] : ['SIGINT', 'SIGTERM', 'SIGHUP']
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
  for (const signal of signals) process.on(signal, handler)
  return {
    stop: stop.signal,
    abort: abort.signal,
    /** The conventional exit code after a signal: 128 + its number. */
    exitCode: () => (received === 'SIGINT' ? 130 : received === 'SIGTERM' ? 143 : received === 'SIGHUP' ? 129 : undefined),
    dispose() {
      for (const signal of signals) process.off(signal, handler)
    },
  }
}

/**
 * What a sender says as a signal stops it, worded by what stopped it: Ctrl-C is the way to
 * abort only for someone at a terminal who pressed it; a script, systemd or a `kill` from
 * another shell stopped it with a signal, and sending that again is what aborts.
 */
export function stoppingLine(signal: NodeJS.Signals, isTerminal = process.stderr.isTTY === true): string {
  const what = 'finishing sends in flight; the rest stays queued for crier run.'
  if (signal === 'SIGINT' && isTerminal) return `Stopping: ${what} Press Ctrl-C again to abort.`
  return `Stopping (${signal}): ${what} Send ${signal} again to abort the sends in flight (they may end unknown).`
}
