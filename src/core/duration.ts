// Durations and rates as people write them in config and flags: "500ms", "10s", "2m", "6h",
// "2d"; rates as "10/s" or "600/m".

const unitMs: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000}

/** Milliseconds for "10s"-style text, or undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(text)
  if (!match) return undefined
  return Math.round(Number(match[1]) * unitMs[match[2]!]!)
}

/** Sends per second for "10/s"-style text, or undefined when it is not one. */
export function parseRate(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(s|m|h)\s*$/.exec(text)
  if (!match) return undefined
  return (Number(match[1]) * 1000) / unitMs[match[2]!]!
}
