import {describe, expect, it} from 'vitest'
import {checkCron, cronOccurrences} from '../../src/core/cron.js'
import {scheduleZone} from '../../src/core/time-zone.js'
import {ExitCode, UsageError} from '../../src/core/errors.js'

// Cron schedules in an IANA zone, with a fixed "after" instead of the clock. The DST days are
// those of 2026-27: Europe/London springs forward on 28 Mar 2027 (01:00 GMT → 02:00 BST) and
// falls back on 25 Oct 2026 (02:00 BST → 01:00 GMT); America/New_York springs forward on
// 14 Mar 2027 (02:00 EST → 03:00 EDT) and falls back on 1 Nov 2026 (02:00 EDT → 01:00 EST).

const hour = 3_600_000

function refused(expression: string, timeZone = 'Europe/London'): UsageError {
  try {
    checkCron(expression, timeZone)
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).exitCode).toBe(ExitCode.usage)
    expect((error as UsageError).message).not.toContain('\n')
    return error as UsageError
  }
  throw new Error(`--cron "${expression}" was accepted`)
}

/** The zone's calendar date of an instant, "2027-03-28". */
function dayIn(instant: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', {timeZone, year: 'numeric', month: '2-digit', day: '2-digit'}).format(new Date(instant))
}

/** The occurrences that fall on one calendar day in the zone, looking from two days before. */
function firingsOn(expression: string, timeZone: string, day: string): number[] {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number]
  const from = Date.UTC(year, month - 1, date - 2)
  return cronOccurrences(expression, timeZone, from, 10).filter((at) => dayIn(at, timeZone) === day)
}

describe('checkCron', () => {
  it('accepts five fields, names of days included', () => {
    expect(() => checkCron('0 8 * * TUE', 'Europe/London')).not.toThrow()
    expect(() => checkCron('*/15 7-19 * * MON-FRI', 'America/New_York')).not.toThrow()
    expect(() => checkCron('  30 2 1 1 *  ', 'UTC')).not.toThrow()
  })

  it('refuses six fields (seconds or a year), saying how many it counted', () => {
    expect(refused('0 0 8 * * TUE').message).toBe('--cron "0 0 8 * * TUE" has 6 fields — use five: minute hour day-of-month month day-of-week, e.g. "0 8 * * TUE"')
    expect(refused('0 8 * * TUE 2027').message).toMatch(/has 6 fields/)
  })

  it('refuses fewer than five fields', () => {
    expect(refused('0 8 * *').message).toMatch(/has 4 fields/)
    expect(refused('@daily').message).toMatch(/has 1 fields/)
  })

  it('refuses H, which cron-parser reads as a different random value each time', () => {
    // Echoed as 10:50, fired at 10:20 the next day: the officer must see the time it fires.
    for (const expression of ['H 10 * * *', 'H H * * *', '0 H(8-10) * * *', 'H/15 * * * *', '0,H 9 * * MON']) {
      expect(refused(expression).message, expression).toBe(`--cron "${expression}" uses H, a different minute or hour each time it is read — give the time itself, e.g. "20 10 * * *"`)
    }
    expect(() => checkCron('0 8 * * THU', 'Europe/London')).not.toThrow()
  })

  it('refuses nonsense', () => {
    expect(refused('nonsense').message).toMatch(/^--cron "nonsense" has 1 fields/)
    expect(refused('a b c d e').message).toMatch(/^--cron "a b c d e" is not valid \(.+\) — e\.g\. "0 8 \* \* TUE"$/)
    expect(refused('61 * * * *').message).toMatch(/is not valid/)
    expect(refused('0 25 * * *').message).toMatch(/is not valid/)
    expect(refused('0 8 * * FUNDAY').message).toMatch(/is not valid/)
  })
})

describe('scheduleZone', () => {
  const zone = (name: string) => scheduleZone(name, '--tz')
  it('takes a zone named by its place, as given, or UTC', () => {
    expect(zone('Europe/London')).toBe('Europe/London')
    expect(zone('US/Eastern')).toBe('US/Eastern')
    expect(zone('Asia/Kolkata')).toBe('Asia/Kolkata')
    expect(zone('UTC')).toBe('UTC')
    expect(zone('Etc/UTC')).toBe('UTC')
  })

  it('refuses made-up zones', () => {
    expect(() => zone('Mars/Olympus_Mons')).toThrow(/^--tz "Mars\/Olympus_Mons" is not a time zone — use an IANA name such as Europe\/London$/)
    expect(() => zone('GMT+25')).toThrow(/is not a time zone/)
  })

  it('refuses abbreviations and fixed offsets, which keep no summer time, naming where the zone came from', () => {
    for (const name of ['EST', 'GMT', 'CET', 'Etc/GMT+5', 'EST5EDT', 'Japan']) {
      expect(() => zone(name)).toThrow(new RegExp(`^--tz "${name.replace('+', '\\+')}" is not a place's zone — name the place, e\\.g\\. Europe/London or America/New_York \\(or UTC\\): an abbreviation such as EST or GMT keeps no summer time$`))
    }
    expect(() => scheduleZone('GMT', 'timezone in config.yaml')).toThrow(/^timezone in config\.yaml "GMT" is not a place's zone/)
  })
})

describe('cronOccurrences', () => {
  it('lists the next occurrences strictly after the given time, at the zone’s wall time', () => {
    // Wednesday 25 November 2026, 13:00 UTC.
    const after = Date.UTC(2026, 10, 25, 13, 0)
    expect(cronOccurrences('0 8 * * TUE', 'Europe/London', after, 3)).toEqual([Date.UTC(2026, 11, 1, 8), Date.UTC(2026, 11, 8, 8), Date.UTC(2026, 11, 15, 8)])
    expect(cronOccurrences('0 8 * * TUE', 'America/New_York', after, 2)).toEqual([Date.UTC(2026, 11, 1, 13), Date.UTC(2026, 11, 8, 13)])
    // An occurrence exactly at `after` is not "after".
    expect(cronOccurrences('0 8 * * TUE', 'Europe/London', Date.UTC(2026, 11, 1, 8), 1)).toEqual([Date.UTC(2026, 11, 8, 8)])
  })

  it('keeps 08:00 on the wall clock across a DST change (weekly, London)', () => {
    // Tue 23 Mar 2027 is GMT, Tue 30 Mar 2027 is BST.
    expect(cronOccurrences('0 8 * * TUE', 'Europe/London', Date.UTC(2027, 2, 20), 2)).toEqual([Date.UTC(2027, 2, 23, 8), Date.UTC(2027, 2, 30, 7)])
  })

  describe('DST: exactly one firing on the day the clocks change', () => {
    it('Europe/London, spring forward (28 Mar 2027): 30 2 * * * fires once, at 02:30 BST', () => {
      expect(firingsOn('30 2 * * *', 'Europe/London', '2027-03-28')).toEqual([Date.UTC(2027, 2, 28, 1, 30)])
    })

    it('Europe/London, spring forward: 30 1 * * * (01:30 never happens) fires once, just after the gap', () => {
      expect(firingsOn('30 1 * * *', 'Europe/London', '2027-03-28')).toEqual([Date.UTC(2027, 2, 28, 1, 30)])
      expect(firingsOn('30 1 * * *', 'Europe/London', '2027-03-27')).toEqual([Date.UTC(2027, 2, 27, 1, 30)])
      expect(firingsOn('30 1 * * *', 'Europe/London', '2027-03-29')).toEqual([Date.UTC(2027, 2, 29, 0, 30)])
    })

    it('America/New_York, spring forward (14 Mar 2027): 30 2 * * * (02:30 never happens) fires once, at 03:30 EDT', () => {
      expect(firingsOn('30 2 * * *', 'America/New_York', '2027-03-14')).toEqual([Date.UTC(2027, 2, 14, 7, 30)])
      // The days either side fire once each, at 02:30 local.
      expect(firingsOn('30 2 * * *', 'America/New_York', '2027-03-13')).toEqual([Date.UTC(2027, 2, 13, 7, 30)])
      expect(firingsOn('30 2 * * *', 'America/New_York', '2027-03-15')).toEqual([Date.UTC(2027, 2, 15, 6, 30)])
    })

    it('Europe/London, fall back (25 Oct 2026): 30 1 * * * (01:30 happens twice) fires once, the first time', () => {
      expect(firingsOn('30 1 * * *', 'Europe/London', '2026-10-25')).toEqual([Date.UTC(2026, 9, 25, 0, 30)])
      expect(firingsOn('30 1 * * *', 'Europe/London', '2026-10-26')).toEqual([Date.UTC(2026, 9, 26, 1, 30)])
    })

    it('America/New_York, fall back (1 Nov 2026): 30 1 * * * (01:30 happens twice) fires once, the first time', () => {
      expect(firingsOn('30 1 * * *', 'America/New_York', '2026-11-01')).toEqual([Date.UTC(2026, 10, 1, 5, 30)])
      expect(firingsOn('30 1 * * *', 'America/New_York', '2026-11-02')).toEqual([Date.UTC(2026, 10, 2, 6, 30)])
    })

    it('consecutive daily firings around each change are 23 or 25 hours apart, never 0', () => {
      const spring = cronOccurrences('30 2 * * *', 'America/New_York', Date.UTC(2027, 2, 13), 3)
      expect(spring[1]! - spring[0]!).toBe(24 * hour)
      expect(spring[2]! - spring[1]!).toBe(23 * hour)
      const autumn = cronOccurrences('30 1 * * *', 'Europe/London', Date.UTC(2026, 9, 24), 3)
      expect(autumn[1]! - autumn[0]!).toBe(24 * hour)
      expect(autumn[2]! - autumn[1]!).toBe(25 * hour)
    })
  })

  describe('--until', () => {
    const after = Date.UTC(2026, 10, 25, 13, 0)

    it('nothing after it', () => {
      expect(cronOccurrences('0 8 * * TUE', 'Europe/London', after, 10, Date.UTC(2026, 11, 15, 23, 59, 59))).toEqual([
        Date.UTC(2026, 11, 1, 8),
        Date.UTC(2026, 11, 8, 8),
        Date.UTC(2026, 11, 15, 8),
      ])
    })

    it('an occurrence exactly at it still counts', () => {
      expect(cronOccurrences('0 8 * * TUE', 'Europe/London', after, 10, Date.UTC(2026, 11, 8, 8))).toEqual([Date.UTC(2026, 11, 1, 8), Date.UTC(2026, 11, 8, 8)])
    })

    it('before the first occurrence: none', () => {
      expect(cronOccurrences('0 8 * * TUE', 'Europe/London', after, 10, Date.UTC(2026, 10, 30, 23, 59))).toEqual([])
    })

    it('null or absent means no end', () => {
      expect(cronOccurrences('0 8 * * TUE', 'Europe/London', after, 5, null)).toHaveLength(5)
      expect(cronOccurrences('0 8 * * TUE', 'Europe/London', after, 5)).toHaveLength(5)
    })
  })
})
