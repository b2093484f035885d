// How many deliveries a channel holds claimed ahead of its sends (waiting and in flight).
//
// Twice the concurrency, at least 32; and when it sends fast up to 8×: about a quarter second
// of its sending. Bigger claims cost less SQL per delivery (bench: 6.1k → 7.7k webhook POSTs/s
// over 30,000 here), but what a process holds claimed is what an Extreme announcement queued now
// waits behind, and what a crash leaves to the next process. An idempotent channel's deliveries
// are then simply sent again (the provider deduplicates), and any other's that never started
// are told apart by the record of starts (started-sends.ts) and sent too. Only where there is no
// such record (a database in memory) would a crash leave every claimed delivery `unknown`:
// there, no more than twice the concurrency.

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
    /** A crash leaves in doubt only what was on the wire (idempotent, or its starts recorded). */
    private readonly mayGrow: boolean,
  ) {
    this.base = mayGrow ? Math.max(concurrency * 2, minimumClaim) : concurrency * 2
    this.current = this.base
  }

  /** A send finished (whatever its outcome). */
  finished(): void {
    this.sent++
  }

  /** How many to hold claimed now. */
  target(now: number): number {
    if (!this.mayGrow) return this.base
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
