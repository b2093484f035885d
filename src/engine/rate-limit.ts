// A token bucket per channel for the configured `rate` (e.g. "10/s"): at most `capacity` sends
// at once, refilled continuously. Pauses from providers (429) are separate and shared through
// the store, because every process sending to that account must obey them.

export class TokenBucket {
  private tokens: number
  private refilledAt: number
  private readonly capacity: number

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.capacity = Math.max(1, Math.ceil(perSecond))
    this.tokens = this.capacity
    this.refilledAt = now
  }

  /** Whole sends allowed right now. */
  available(now: number): number {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000)
    this.refilledAt = now
    return Math.floor(this.tokens)
  }

  take(): void {
    this.tokens -= 1
  }

  /** Milliseconds until the next token. */
  waitMs(now: number): number {
    const missing = 1 - this.available(now)
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.perSecond)
  }
}
