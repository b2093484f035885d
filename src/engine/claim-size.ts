// How many deliveries a channel holds claimed ahead of its sends (waiting and in flight).
//
// Twice the concurrency; for an idempotent channel at least 32, and when it sends fast up to 8×:
// about a quarter second of its sending. Bigger claims cost less SQL per delivery (bench:
// 6.1k → 7.7k webhook POSTs/s over 30,000 here), but what a process holds claimed is what a crash leaves in
// doubt, and what an Extreme announcement queued now waits behind. In doubt, an idempotent
// channel's deliveries are simply sent again (the provider deduplicates); anyone else's end
// `unknown`, so theirs stay small.

const minimumClaim = 32
/** How long the rate is measured over before the size follows it. */
const windowMs = 100

export class ClaimSize {
  private readonly base: number
  private current: number
  private sent = 0
  private countedSince = 0

  constructor(
    private readonly concurrency: number,
    private readonly idempotent: boolean,
  ) {
    // Not idempotent: what a crash leaves claimed ends unknown, never resent — no more than 2×.
    this.base = idempotent ? Math.max(concurrency * 2, minimumClaim) : concurrency * 2
    this.current = this.base
  }

  /** A send finished (whatever its outcome). */
  finished(): void {
    this.sent++
  }

  /** How many to hold claimed now. */
  target(now: number): number {
    if (!this.idempotent) return this.base
    const elapsed = now - this.countedSince
    if (elapsed >= windowMs) {
      const perQuarterSecond = (this.sent / elapsed) * 250
      this.current = Math.round(Math.min(this.concurrency * 8, Math.max(this.base, perQuarterSecond)))
      this.sent = 0
      this.countedSince = now
    }
    return this.current
  }
}
