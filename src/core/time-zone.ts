// Wall-clock times typed without an offset mean the configured time zone (a duty officer in
// Wales types 18:00 and means 18:00 in Europe/London, whatever the server's TZ).

const formatters = new Map<string, Intl.DateTimeFormat>()

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone)
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    formatters.set(timeZone, formatter)
  }
  return formatter
}

/** The zone's offset from UTC at an instant, in ms (Europe/London in July: +3,600,000). */
export function zoneOffsetMs(instant: number, timeZone: string): number {
  const parts = Object.fromEntries(formatterFor(timeZone).formatToParts(new Date(instant)).map((p) => [p.type, p.value]))
  const asUtc = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second))
  return asUtc - Math.floor(instant / 1000) * 1000
}

/** The instant at which the zone's clocks show this wall time (the earlier one in a fall-back hour). */
export function wallTimeToInstant(wall: {year: number; month: number; day: number; hour: number; minute: number; second: number; ms?: number}, timeZone: string): number {
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second, wall.ms ?? 0)
  // Two passes settle DST edges: the offset at the first guess may differ from the answer's.
  let instant = asUtc - zoneOffsetMs(asUtc, timeZone)
  instant = asUtc - zoneOffsetMs(instant, timeZone)
  return instant
}
