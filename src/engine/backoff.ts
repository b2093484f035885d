// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And
// Jitter"): spreading retries uniformly over [0, min(cap, base·2^n)) keeps a recovering
// provider from being hit by every client at the same instant.

export function retryDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1))
  return Math.floor(random() * ceiling)
}
