// Reads snapshots on a timer for the live view and the plain progress lines. The reader runs in
// the sender's own process during `crier broadcast`: a slow read (a huge broadcast, a cold page
// cache) must not take the event loop from the sends, so the pause after each read grows with
// what the read cost, keeping reads under `maxShare` of one core.

export interface Poller {
  stop(): void
}

export interface PollOptions {
  intervalMs?: number
  /** The most of one core the reads may take: 0.05 waits at least 19× a read's cost. */
  maxShare?: number
}

export function pollSnapshots<T>(read: () => T, onValue: (value: T) => void, onError: (error: unknown) => void, options: PollOptions = {}): Poller {
  const intervalMs = options.intervalMs ?? 250
  const maxShare = options.maxShare ?? 0.05
  let timer: NodeJS.Timeout | undefined
  let isStopped = false
  const tick = () => {
    if (isStopped) return
    const began = performance.now()
    try {
      onValue(read())
    } catch (error) {
      onError(error)
    }
    const cost = performance.now() - began
    if (!isStopped) timer = setTimeout(tick, Math.max(intervalMs, (cost * (1 - maxShare)) / maxShare))
  }
  timer = setTimeout(tick, intervalMs)
  return {
    stop() {
      isStopped = true
      if (timer) clearTimeout(timer)
    },
  }
}
