// Spans of time in words, apart from when.ts: show and the scheduler use them without loading chrono-node.

/** "25 s", "12 min", "18 h 38 min", "3 days": a span as an officer reads it. */
export function formatSpan(ms: number): string {
  const seconds = Math.round(ms / 1000)
  if (seconds < 90) return `${seconds} s`
  const minutes = Math.round(seconds / 60)
  if (minutes < 60) return `${minutes} min`
  const hours = Math.floor(minutes / 60)
  if (hours < 48) return `${hours} h ${minutes % 60} min`
  return `${Math.round(hours / 24)} days`
}
