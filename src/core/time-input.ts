import {UsageError} from './errors.js'
import {parseDuration} from './duration.js'

/**
 * An expiry as officers type it: ISO 8601 ("2026-11-25T18:00", "2026-11-25T18:00:00Z") or
 * relative to now ("+6h", "+2d", "+90m"). A time in the past is refused.
 */
export function parseExpiry(text: string, now: number): number {
  const trimmed = text.trim()
  let at: number | undefined
  if (trimmed.startsWith('+')) {
    const ms = parseDuration(trimmed.slice(1))
    if (ms !== undefined && ms > 0) at = now + ms
  } else if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(trimmed)) {
    const parsed = Date.parse(trimmed.replace(' ', 'T'))
    if (!Number.isNaN(parsed)) at = parsed
  }
  if (at === undefined) {
    throw new UsageError(`--expires "${text}" is not a time — use ISO 8601 (2026-11-25T18:00Z) or a relative time (+6h, +2d)`)
  }
  if (at <= now) throw new UsageError(`--expires ${new Date(at).toISOString()} is in the past — give a later time`)
  return at
}

/** A --since value: ISO 8601, or a duration back from now ("24h", "7d"). */
export function parseSince(text: string, now: number): number {
  const ms = parseDuration(text)
  if (ms !== undefined) return now - ms
  const parsed = Date.parse(text)
  if (!Number.isNaN(parsed) && /^\d{4}-\d{2}-\d{2}/.test(text.trim())) return parsed
  throw new UsageError(`--since "${text}" is not a time — use ISO 8601 (2026-11-25) or a duration (24h, 7d)`)
}
