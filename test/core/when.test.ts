import {spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {describe, expect, it} from 'vitest'
import {ExitCode, UsageError} from '../../src/core/errors.js'
import {formatSpan} from '../../src/core/span.js'
import {formatInZone, parseUntil, parseWhen} from '../../src/core/when.js'
import {repoRoot} from '../helpers/cli.js'

// `crier schedule --at WHEN` read with a fixed clock: every "now" here is a constant, and the
// zone is an argument, so nothing depends on when or where the tests run.

const hour = 3_600_000
/** Wed 25 Nov 2026 13:00:00.250 UTC: winter in both zones (GMT, EST); a fraction of a second on purpose. */
const winter = Date.UTC(2026, 10, 25, 13, 0, 0, 250)
/** Wed 15 Jul 2026 12:00:00.250 UTC: summer in both zones (BST, EDT). */
const summer = Date.UTC(2026, 6, 15, 12, 0, 0, 250)

function refused(text: string, now: number, timeZone: string): UsageError {
  try {
    parseWhen(text, now, timeZone)
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).exitCode).toBe(ExitCode.usage)
    expect((error as UsageError).message).not.toContain('\n')
    return error as UsageError
  }
  throw new Error(`--at "${text}" was accepted`)
}

describe('parseWhen: ISO 8601', () => {
  it('without an offset is wall time in Europe/London, winter (GMT) and summer (BST)', () => {
    expect(parseWhen('2026-12-01T07:30', winter, 'Europe/London').at).toBe(Date.UTC(2026, 11, 1, 7, 30))
    expect(parseWhen('2026-07-20T07:30', summer, 'Europe/London').at).toBe(Date.UTC(2026, 6, 20, 6, 30))
  })

  it('without an offset is wall time in America/New_York, winter (EST) and summer (EDT)', () => {
    expect(parseWhen('2026-12-01T07:30', winter, 'America/New_York').at).toBe(Date.UTC(2026, 11, 1, 12, 30))
    expect(parseWhen('2026-07-20T07:30', summer, 'America/New_York').at).toBe(Date.UTC(2026, 6, 20, 11, 30))
  })

  it('uses the offset in force on the day given, not today’s', () => {
    // Typed in winter for a summer morning: 07:30 BST, 07:30 EDT.
    expect(parseWhen('2027-07-01T07:30', winter, 'Europe/London').at).toBe(Date.UTC(2027, 6, 1, 6, 30))
    expect(parseWhen('2027-07-01T07:30', winter, 'America/New_York').at).toBe(Date.UTC(2027, 6, 1, 11, 30))
  })

  it('with an offset or Z is that instant whatever the zone', () => {
    for (const zone of ['Europe/London', 'America/New_York', 'Asia/Tokyo']) {
      expect(parseWhen('2026-12-01T07:30:00+02:00', winter, zone).at).toBe(Date.UTC(2026, 11, 1, 5, 30))
      expect(parseWhen('2026-12-01T07:30:00-05:00', winter, zone).at).toBe(Date.UTC(2026, 11, 1, 12, 30))
      expect(parseWhen('2026-12-01T07:30Z', winter, zone).at).toBe(Date.UTC(2026, 11, 1, 7, 30))
      expect(parseWhen('2026-07-20T07:30:00+01:00', summer, zone).at).toBe(Date.UTC(2026, 6, 20, 6, 30))
    }
  })

  it('echoes the ISO text as what was understood', () => {
    expect(parseWhen(' 2026-12-01T07:30 ', winter, 'Europe/London').understood).toBe('2026-12-01T07:30')
  })

  it('a date that does not exist is refused', () => {
    expect(refused('2026-02-30T10:00', winter, 'Europe/London').message).toMatch(/is not a time crier understands/)
    expect(refused('2026-11-26T25:00', winter, 'Europe/London').message).toMatch(/is not a time crier understands/)
  })
})

describe('parseWhen: words, read in the configured zone', () => {
  it('"tomorrow 07:30" in Europe/London, winter and summer', () => {
    const inWinter = parseWhen('tomorrow 07:30', winter, 'Europe/London')
    expect(inWinter.at).toBe(Date.UTC(2026, 10, 26, 7, 30))
    expect(inWinter.understood).toBe('tomorrow 07:30')
    expect(parseWhen('tomorrow 07:30', summer, 'Europe/London').at).toBe(Date.UTC(2026, 6, 16, 6, 30))
  })

  it('"tomorrow 07:30" in America/New_York, winter and summer', () => {
    expect(parseWhen('tomorrow 07:30', winter, 'America/New_York').at).toBe(Date.UTC(2026, 10, 26, 12, 30))
    expect(parseWhen('tomorrow 07:30', summer, 'America/New_York').at).toBe(Date.UTC(2026, 6, 16, 11, 30))
  })

  it('"tomorrow" is the zone’s tomorrow, not UTC’s', () => {
    // 16:00 UTC on the 25th is already 01:00 on the 26th in Tokyo: tomorrow there is the 27th.
    expect(parseWhen('tomorrow 07:30', Date.UTC(2026, 10, 25, 16, 0), 'Asia/Tokyo').at).toBe(Date.UTC(2026, 10, 26, 22, 30))
    // 03:00 UTC on the 26th is still 22:00 on the 25th in New York: tomorrow there is the 26th.
    expect(parseWhen('tomorrow 07:30', Date.UTC(2026, 10, 26, 3, 0), 'America/New_York').at).toBe(Date.UTC(2026, 10, 26, 12, 30))
  })

  it('"in 2 hours" is exactly two hours from now, in any zone and season', () => {
    for (const now of [winter, summer]) {
      for (const zone of ['Europe/London', 'America/New_York', 'Asia/Tokyo']) {
        const resolved = parseWhen('in 2 hours', now, zone)
        expect(resolved.at).toBe(now + 2 * hour)
        expect(resolved.understood).toBe('in 2 hours')
      }
    }
  })

  it('"next Monday 9am" is the coming Monday at 09:00 in the zone', () => {
    // From Wednesday 25 November: Monday 30 November.
    expect(parseWhen('next Monday 9am', winter, 'Europe/London').at).toBe(Date.UTC(2026, 10, 30, 9, 0))
    expect(parseWhen('next Monday 9am', winter, 'America/New_York').at).toBe(Date.UTC(2026, 10, 30, 14, 0))
    // From Wednesday 15 July: Monday 20 July, in summer time.
    expect(parseWhen('next Monday 9am', summer, 'Europe/London').at).toBe(Date.UTC(2026, 6, 20, 8, 0))
    expect(parseWhen('next Monday 9am', summer, 'America/New_York').at).toBe(Date.UTC(2026, 6, 20, 13, 0))
  })

  it('case and surrounding spaces do not matter', () => {
    expect(parseWhen('  Tomorrow 7:30  ', winter, 'Europe/London').at).toBe(Date.UTC(2026, 10, 26, 7, 30))
  })

  it('"tomorrow 00:30" just before midnight is 40 minutes away; just after, it is the next night', () => {
    const beforeMidnight = parseWhen('tomorrow 00:30', Date.UTC(2026, 10, 25, 23, 50), 'Europe/London')
    expect(beforeMidnight.at).toBe(Date.UTC(2026, 10, 26, 0, 30))
    expect(beforeMidnight.understood).toBe('tomorrow 00:30')
    expect(parseWhen('tomorrow 00:30', Date.UTC(2026, 10, 26, 0, 10), 'Europe/London').at).toBe(Date.UTC(2026, 10, 27, 0, 30))
    // A time of day alone is the next one to come.
    expect(parseWhen('00:30', Date.UTC(2026, 10, 26, 0, 10), 'Europe/London').at).toBe(Date.UTC(2026, 10, 26, 0, 30))
  })
})

describe('parseWhen refuses', () => {
  it('"tomorrow" with no time of day', () => {
    for (const zone of ['Europe/London', 'America/New_York']) {
      expect(refused('tomorrow', winter, zone).message).toBe('--at "tomorrow" has no time of day — say it, e.g. "tomorrow 07:30"')
    }
    expect(refused('next Monday', winter, 'Europe/London').message).toMatch(/has no time of day/)
    // An ISO date alone too: it would be its midnight.
    expect(refused('2027-01-20', winter, 'Europe/London').message).toBe('--at "2027-01-20" has no time of day — say it, e.g. "2027-01-20T07:30"')
    for (const zoned of ['2027-01-20Z', '2027-01-20+01:00']) expect(refused(zoned, winter, 'Europe/London').message).toMatch(/has no time of day/)
  })

  it('a time in the past', () => {
    expect(refused('yesterday 07:30', winter, 'Europe/London').message).toMatch(/^--at "yesterday 07:30" is in the past \(Tue 24 Nov 2026 07:30 GMT\) — give a later time$/)
    expect(refused('today 07:30', winter, 'Europe/London').message).toMatch(/is in the past/)
    expect(refused('2026-11-25T12:59', winter, 'Europe/London').message).toMatch(/is in the past/)
    // 12:59 in New York is still ahead: the past is judged in the zone given.
    expect(parseWhen('2026-11-25T12:59', winter, 'America/New_York').at).toBe(Date.UTC(2026, 10, 25, 17, 59))
  })

  it('a time past the year 9999, or past any a clock can hold', () => {
    for (const text of ['in 99999999 weeks', 'in 9999999 weeks']) {
      expect(refused(text, winter, 'Europe/London').message).toBe(`--at "${text}" is past the year 9999 — give a nearer time`)
    }
    expect(() => parseUntil('in 99999999 weeks', winter, 'Europe/London')).toThrow('--until "in 99999999 weeks" is past the year 9999 — give a nearer time')
    expect(parseWhen('in 52 weeks', winter, 'UTC').at).toBe(winter + 52 * 7 * 24 * hour)
  })

  it('now itself', () => {
    expect(refused(new Date(winter).toISOString(), winter, 'UTC').message).toMatch(/is in the past/)
    expect(parseWhen(new Date(winter + 1).toISOString(), winter, 'UTC').at).toBe(winter + 1)
  })

  it('nonsense, and words with something left over', () => {
    for (const text of ['blah blah', 'at some point', 'next blursday 9am', 'tomorrow 07:30 or so', '']) {
      expect(refused(text, winter, 'Europe/London').message).toMatch(/is not a time crier understands — use ISO 8601/)
    }
  })
})

describe('parseWhen does not depend on the process time zone', () => {
  it('gives the same instant for the same words whatever the process TZ (a Tokyo child through dist/)', () => {
    const built = join(repoRoot, 'dist', 'src', 'core', 'when.js')
    expect(existsSync(built), 'build first: npx tsc -p tsconfig.build.json').toBe(true)
    const script = `import(${JSON.stringify(pathToFileURL(built).href)}).then(({parseWhen}) => {
      const now = ${winter}
      const out = ['tomorrow 07:30', 'next Monday 9am', 'in 2 hours', '2026-12-01T07:30'].map((text) => parseWhen(text, now, 'Europe/London').at)
      process.stdout.write(JSON.stringify({zone: Intl.DateTimeFormat().resolvedOptions().timeZone, offset: new Date(now).getTimezoneOffset(), out}))
    })`
    const child = spawnSync(process.execPath, ['-e', script], {env: {PATH: process.env.PATH, TZ: 'Asia/Tokyo'}, encoding: 'utf8', timeout: 30_000})
    expect(child.stderr).toBe('')
    const result = JSON.parse(child.stdout) as {zone: string; offset: number; out: number[]}
    // The child really ran nine hours ahead of UTC.
    expect(result.zone).toBe('Asia/Tokyo')
    expect(result.offset).toBe(-540)
    expect(result.out).toEqual([Date.UTC(2026, 10, 26, 7, 30), Date.UTC(2026, 10, 30, 9, 0), winter + 2 * hour, Date.UTC(2026, 11, 1, 7, 30)])
    // And the same as this process, whatever its TZ.
    expect(result.out).toEqual(['tomorrow 07:30', 'next Monday 9am', 'in 2 hours', '2026-12-01T07:30'].map((text) => parseWhen(text, winter, 'Europe/London').at))
  })
})

describe('formatInZone', () => {
  it('echoes a time as the zone’s wall clock with its abbreviation', () => {
    expect(formatInZone(Date.UTC(2026, 10, 26, 7, 30), 'Europe/London')).toBe('Thu 26 Nov 2026 07:30 GMT')
    expect(formatInZone(Date.UTC(2026, 6, 16, 6, 30), 'Europe/London')).toBe('Thu 16 Jul 2026 07:30 BST')
    expect(formatInZone(Date.UTC(2026, 10, 26, 12, 30), 'America/New_York')).toMatch(/^Thu 26 Nov 2026 07:30 \S+$/)
  })

  it('leaves the year out when asked (the later items of a list)', () => {
    expect(formatInZone(Date.UTC(2026, 11, 8, 8, 0), 'Europe/London', false)).toBe('Tue 8 Dec 08:00 GMT')
  })

  it('shows the seconds when the time has some: what is echoed is when it goes', () => {
    expect(formatInZone(Date.UTC(2026, 10, 26, 23, 23, 20, 128), 'Europe/London')).toBe('Thu 26 Nov 2026 23:23:20 GMT')
  })

  it('round-trips with parseWhen: what is echoed is what was scheduled', () => {
    const at = parseWhen('tomorrow 07:30', summer, 'America/New_York').at
    expect(formatInZone(at, 'America/New_York')).toMatch(/^Thu 16 Jul 2026 07:30 /)
  })
})

describe('parseWhen across DST changes', () => {
  it('relative words do not depend on the process zone’s DST (a London server)', () => {
    const built = pathToFileURL(join(repoRoot, 'dist', 'src', 'core', 'when.js')).href
    const a = Date.UTC(2027, 2, 28, 0, 30)
    const b = Date.UTC(2027, 2, 27, 23, 0)
    const script = `import(${JSON.stringify(built)}).then(({parseWhen}) => process.stdout.write(JSON.stringify([parseWhen('in 30 minutes', ${a}, 'Europe/London').at, parseWhen('in 2 hours', ${b}, 'Europe/London').at])))`
    const child = spawnSync(process.execPath, ['-e', script], {env: {PATH: process.env.PATH, TZ: 'Europe/London'}, encoding: 'utf8'})
    expect(JSON.parse(child.stdout)).toEqual([a + 30 * 60_000, b + 2 * 3_600_000])
  })

  it('a wall time that happens twice (fall-back night) is refused, naming both offsets', () => {
    expect(() => parseWhen('2027-10-31T01:30', winter, 'Europe/London')).toThrow(/happens twice in Europe\/London .* 2027-10-31T01:30\+01:00 or 2027-10-31T01:30\+00:00/)
    expect(parseWhen('2027-10-31T01:30+01:00', winter, 'Europe/London').at).toBe(Date.UTC(2027, 9, 31, 0, 30))
  })

  it('a wall time that never happens (spring-forward night) is refused, naming the times either side', () => {
    expect(refused('2027-03-28 01:30', winter, 'Europe/London').message).toBe(
      '--at "2027-03-28 01:30" does not exist in Europe/London (the clocks go forward that night, from 01:00 to 02:00) — give a time that does: 2027-03-28T00:59+00:00 or 2027-03-28T02:00+01:00',
    )
    expect(refused('2027-03-14 02:30', winter, 'America/New_York').message).toBe(
      '--at "2027-03-14 02:30" does not exist in America/New_York (the clocks go forward that night, from 02:00 to 03:00) — give a time that does: 2027-03-14T01:59-05:00 or 2027-03-14T03:00-04:00',
    )
    // ISO with a T, words, and a zone whose clock it is: the same.
    expect(refused('2027-03-28T01:59:59', winter, 'Europe/London').message).toMatch(/does not exist in Europe\/London/)
    expect(refused('tomorrow 01:30', Date.UTC(2027, 2, 27, 12, 0), 'Europe/London').message).toMatch(/^--at "tomorrow 01:30" does not exist in Europe\/London /)
    expect(refused('2027-03-14 02:30 ET', winter, 'Europe/London').message).toMatch(/does not exist in America\/New_York .* 2027-03-14T01:59-05:00 or 2027-03-14T03:00-04:00$/)
  })

  it('the times either side of the gap are accepted, as are those it suggests', () => {
    expect(parseWhen('2027-03-28 00:59', winter, 'Europe/London').at).toBe(Date.UTC(2027, 2, 28, 0, 59))
    expect(parseWhen('2027-03-28 02:00', winter, 'Europe/London').at).toBe(Date.UTC(2027, 2, 28, 1, 0))
    expect(parseWhen('2027-03-28T02:00+01:00', winter, 'Europe/London').at).toBe(Date.UTC(2027, 2, 28, 1, 0))
    expect(parseWhen('2027-03-14T03:00-04:00', winter, 'America/New_York').at).toBe(Date.UTC(2027, 2, 14, 7, 0))
  })

  it('a time counted from now was not typed as a wall time: it is not refused for landing in the gap', () => {
    const beforeGap = Date.UTC(2027, 2, 28, 0, 30)
    expect(parseWhen('in 60 minutes', beforeGap, 'Europe/London').at).toBe(beforeGap + 60 * 60_000)
    expect(() => parseWhen('1 hour from now', beforeGap, 'Europe/London')).not.toThrow()
  })
})

describe('parseWhen: a zone or offset written after the time', () => {
  it('an offset is that offset, whatever the configured zone (chrono reads "07:30 -08:00" as a range)', () => {
    for (const zone of ['Europe/London', 'America/New_York', 'Asia/Tokyo']) {
      expect(parseWhen('2026-12-01 07:30 +05:00', winter, zone).at).toBe(Date.UTC(2026, 11, 1, 2, 30))
      expect(parseWhen('2026-12-01 07:30 -08:00', winter, zone).at).toBe(Date.UTC(2026, 11, 1, 15, 30))
      expect(parseWhen('2026-12-01 07:30 -0800', winter, zone).at).toBe(Date.UTC(2026, 11, 1, 15, 30))
      expect(parseWhen('2026-12-01 07:30+05:30', winter, zone).at).toBe(Date.UTC(2026, 11, 1, 2, 0))
      expect(parseWhen('1 Dec 2026 7:30am (UTC+05:30)', winter, zone).at).toBe(Date.UTC(2026, 11, 1, 2, 0))
      expect(parseWhen('tomorrow 07:30 UTC-8', winter, zone).at).toBe(Date.UTC(2026, 10, 26, 15, 30))
      expect(parseWhen('2026-12-01T07:30 +05:00', winter, zone).at).toBe(Date.UTC(2026, 11, 1, 2, 30))
    }
  })

  it('an abbreviation is its offset: EST, PST, GMT, in any case, with or without brackets', () => {
    expect(parseWhen('2026-12-01 07:30 EST', winter, 'Europe/London').at).toBe(Date.UTC(2026, 11, 1, 12, 30))
    expect(parseWhen('2026-12-01 7:30 PST', winter, 'Europe/London').at).toBe(Date.UTC(2026, 11, 1, 15, 30))
    expect(parseWhen('2026-12-01 7:30 pst', winter, 'Europe/London').at).toBe(Date.UTC(2026, 11, 1, 15, 30))
    expect(parseWhen('2026-12-01 7:30pm (EST)', winter, 'Europe/London').at).toBe(Date.UTC(2026, 11, 2, 0, 30))
    expect(parseWhen('7:30 EST on 1 Dec 2026', winter, 'Europe/London').at).toBe(Date.UTC(2026, 11, 1, 12, 30))
    expect(parseWhen('2026-12-01 07:30 GMT', winter, 'America/New_York').at).toBe(Date.UTC(2026, 11, 1, 7, 30))
    expect(parseWhen('2027-07-01 07:30 BST', winter, 'America/New_York').at).toBe(Date.UTC(2027, 6, 1, 6, 30))
    expect(parseWhen('2027-07-01 07:30 UTC', winter, 'Europe/London').at).toBe(Date.UTC(2027, 6, 1, 7, 30))
    // chrono has Newfoundland half an hour out (-02:30): crier's own table says -03:30.
    expect(parseWhen('2026-12-01 07:30 NST', winter, 'Europe/London').at).toBe(Date.UTC(2026, 11, 1, 11, 0))
  })

  it('ET, CT, MT and PT follow that zone’s clock, summer time included', () => {
    expect(parseWhen('2026-12-01 9am ET', winter, 'Europe/London').at).toBe(Date.UTC(2026, 11, 1, 14, 0))
    expect(parseWhen('2027-07-01 9am ET', winter, 'Europe/London').at).toBe(Date.UTC(2027, 6, 1, 13, 0))
    expect(parseWhen('2027-07-01 9am PT', winter, 'Europe/London').at).toBe(Date.UTC(2027, 6, 1, 16, 0))
  })

  it('echoes the whole text, zone included, as what was understood', () => {
    expect(parseWhen(' 2026-12-01 07:30 EST ', winter, 'Europe/London').understood).toBe('2026-12-01 07:30 EST')
    expect(parseWhen('tomorrow 07:30 -08:00', winter, 'Europe/London').understood).toBe('tomorrow 07:30 -08:00')
  })

  it('"tomorrow", a weekday and a time alone are read on the named zone’s clock', () => {
    // Now is 13:00 GMT on Wednesday 25 November: 08:00 EST, 05:00 PST, the same Wednesday.
    expect(parseWhen('14:00 EST', winter, 'Europe/London').at).toBe(Date.UTC(2026, 10, 25, 19, 0))
    expect(parseWhen('07:30 EST', winter, 'Europe/London').at).toBe(Date.UTC(2026, 10, 26, 12, 30))
    expect(parseWhen('Wednesday 7am PST', winter, 'Europe/London').at).toBe(Date.UTC(2026, 10, 25, 15, 0))
    expect(parseWhen('tomorrow 07:30 EST', winter, 'Europe/London').at).toBe(Date.UTC(2026, 10, 26, 12, 30))
    // 01:00 GMT on the 26th is still 20:00 on the 25th in New York: 21:00 EST is an hour away.
    expect(parseWhen('21:00 EST', Date.UTC(2026, 10, 26, 1, 0), 'Europe/London').at).toBe(Date.UTC(2026, 10, 26, 2, 0))
  })

  it('gives the same instant whatever the process time zone', () => {
    const texts = ['14:00 EST', 'Wednesday 7am PST', '25 Nov 12:00 EST', 'tomorrow 07:30 -08:00', 'next Monday 9am PT', 'tomorrow 07:30']
    const here = texts.map((text) => parseWhen(text, winter, 'Europe/London').at)
    const saved = process.env.TZ
    try {
      for (const tz of ['Pacific/Honolulu', 'Asia/Tokyo', 'America/New_York']) {
        process.env.TZ = tz
        expect(new Date(winter).getTimezoneOffset()).not.toBe(0)
        expect(texts.map((text) => parseWhen(text, winter, 'Europe/London').at)).toEqual(here)
      }
    } finally {
      if (saved === undefined) delete process.env.TZ
      else process.env.TZ = saved
    }
    expect(here[0]).toBe(Date.UTC(2026, 10, 25, 19, 0))
    expect(here[1]).toBe(Date.UTC(2026, 10, 25, 15, 0))
  })

  it('an offset chrono assumes (counting from now) is not one the text named', () => {
    // chrono marks the offset of "2 hours from now" certain — the process's own — as it does one
    // typed; only the typed one may move the time. Here the process is nine hours from the zone.
    const saved = process.env.TZ
    try {
      process.env.TZ = 'Asia/Tokyo'
      expect(parseWhen('2 hours from now', winter, 'Europe/London').at).toBe(Date.UTC(2026, 10, 25, 15, 0))
      expect(parseWhen('in 1 hour 30 minutes', winter, 'America/New_York').at).toBe(Date.UTC(2026, 10, 25, 14, 30))
      expect(parseWhen('tomorrow 07:30', winter, 'Europe/London').at).toBe(Date.UTC(2026, 10, 26, 7, 30))
    } finally {
      if (saved === undefined) delete process.env.TZ
      else process.env.TZ = saved
    }
  })
})

describe('parseWhen refuses a zone it cannot read unambiguously', () => {
  it('an abbreviation with more than one meaning, naming them', () => {
    expect(refused('2026-12-01 07:30 IST', winter, 'Europe/London').message).toBe(
      '--at "2026-12-01 07:30 IST" could mean India Standard Time (+05:30), Irish Standard Time (+01:00) or Israel Standard Time (+02:00) — write the offset instead of IST',
    )
    expect(refused('2026-12-01 07:30 CST', winter, 'Europe/London').message).toMatch(/could mean Central Standard Time \(-06:00\) or China Standard Time \(\+08:00\)/)
  })

  it('unless the configured zone is one of its meanings', () => {
    expect(parseWhen('2026-12-01 07:30 CST', winter, 'America/Chicago').at).toBe(Date.UTC(2026, 11, 1, 13, 30))
    expect(parseWhen('2026-12-01 07:30 IST', winter, 'Asia/Kolkata').at).toBe(Date.UTC(2026, 11, 1, 2, 0))
  })

  it('a standard or summer time named for a day its zone is on the other', () => {
    expect(refused('2027-07-01 07:30 EST', winter, 'Europe/London').message).toBe(
      '--at "2027-07-01 07:30 EST" says EST (-05:00), but America/New_York is on EDT (-04:00) on Thu 1 Jul 2027 — write EDT, or -05:00 if you mean EST itself',
    )
    expect(refused('2027-07-01 07:30 GMT', winter, 'Europe/London').message).toMatch(/says GMT \(\+00:00\), but Europe\/London is on BST \(\+01:00\) .* write BST, or \+00:00/)
    expect(refused('2026-12-01 07:30 BST', winter, 'Europe/London').message).toMatch(/says BST \(\+01:00\), but Europe\/London is on GMT/)
    // Where the configured zone keeps it all year (Arizona), it means just that.
    expect(parseWhen('2027-07-01 07:30 MST', winter, 'America/Phoenix').at).toBe(Date.UTC(2027, 6, 1, 14, 30))
  })

  it('something zone-like crier does not know, naming it', () => {
    for (const [text, token] of [
      ['2026-12-01 07:30 Europe/Paris', 'Europe/Paris'],
      ['2026-12-01 07:30 XYZ', 'XYZ'],
      ['tomorrow 07:30 Z', 'Z'],
      ['tomorrow 07:30 SST', 'SST'],
    ] as const) {
      expect(refused(text, winter, 'Europe/London').message).toBe(
        `--at "${text}" names a time zone crier cannot read ("${token}") — write its offset instead (+01:00, -05:00), or leave it out to mean Europe/London`,
      )
    }
  })

  it('a zone chrono reads but crier did not take out (chrono is certain of its offset)', () => {
    // chrono knows WIB (+07:00) and marks the offset certain; crier's table does not have it.
    expect(refused('tomorrow 07:30 wib', winter, 'Europe/London').message).toMatch(/^--at "tomorrow 07:30 wib" names a time zone crier cannot read — write its offset/)
  })

  it('an offset that is not one, two zones, a range', () => {
    expect(refused('2026-12-01 07:30 +15:00', winter, 'Europe/London').message).toBe('--at "2026-12-01 07:30 +15:00" has "+15:00", which is not a UTC offset — they run from -12:00 to +14:00')
    expect(refused('2026-12-01 07:30 +05:75', winter, 'Europe/London').message).toMatch(/"\+05:75", which is not a UTC offset/)
    expect(refused('2026-12-01 07:30 +5:3', winter, 'Europe/London').message).toMatch(/"\+5:3", which is not a UTC offset/)
    expect(refused('2026-12-01 07:30 +05:00 EST', winter, 'Europe/London').message).toBe('--at "2026-12-01 07:30 +05:00 EST" names more than one time zone — give one')
    expect(refused('tomorrow 07:30-08:30', winter, 'Europe/London').message).toBe('--at "tomorrow 07:30-08:30" is a range of times — give one time (an offset goes after a space: "07:30 -08:00")')
    expect(refused('tomorrow 07:30 - 08:00', winter, 'Europe/London').message).toMatch(/is a range of times/)
  })

  it('still reads am, pm, months and days in capitals as what they are', () => {
    expect(parseWhen('tomorrow 7:30 PM', winter, 'Europe/London').at).toBe(Date.UTC(2026, 10, 26, 19, 30))
    expect(parseWhen('07:30 1 DEC', winter, 'Europe/London').at).toBe(Date.UTC(2026, 11, 1, 7, 30))
  })
})

describe('parseWhen: dates in numbers', () => {
  it('refuses a date whose day and month could swap, saying both readings and how to write it', () => {
    expect(refused('03/04/2027 10:00', winter, 'Europe/London').message).toBe('--at "03/04/2027" could be 3 April or 4 March — write 2027-04-03 or 3 Apr 2027')
    expect(refused('3.4.27 10:00', winter, 'Europe/London').message).toBe('--at "3.4.27" could be 3 April or 4 March — write 2027-04-03 or 3 Apr 2027')
    expect(refused('10:00 11-12-2027', winter, 'Europe/London').message).toMatch(/^--at "11-12-2027" could be 11 December or 12 November — write 2027-12-11 or 11 Dec 2027$/)
    expect(refused('03/04 10:00', winter, 'America/New_York').message).toBe('--at "03/04" could be 3 April or 4 March — write 3 Apr or 4 Mar')
  })

  it('reads a date that can only be read one way, that way', () => {
    expect(parseWhen('13/04/2027 10:00', winter, 'Europe/London').at).toBe(Date.UTC(2027, 3, 13, 9, 0))
    expect(parseWhen('04/13/2027 10:00', winter, 'Europe/London').at).toBe(Date.UTC(2027, 3, 13, 9, 0))
    expect(parseWhen('04/04/2027 10:00', winter, 'Europe/London').at).toBe(Date.UTC(2027, 3, 4, 9, 0))
    expect(parseWhen('13.04.2027 10:00', winter, 'Europe/London').at).toBe(Date.UTC(2027, 3, 13, 9, 0))
  })

  it('does not take a time written with a dot for a date', () => {
    expect(parseWhen('tomorrow 10.05', winter, 'Europe/London').at).toBe(Date.UTC(2026, 10, 26, 10, 5))
  })
})

describe('parseUntil', () => {
  function refusedUntil(text: string): string {
    try {
      parseUntil(text, winter, 'Europe/London')
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError)
      return (error as UsageError).message
    }
    throw new Error(`--until "${text}" was accepted`)
  }

  it('a date alone is the end of that day, in the zone', () => {
    expect(parseUntil('2027-03-31', winter, 'Europe/London')).toEqual({at: Date.UTC(2027, 2, 31, 22, 59, 59), understood: '2027-03-31'})
    expect(parseUntil('31/03/2027', winter, 'Europe/London').at).toBe(Date.UTC(2027, 2, 31, 22, 59, 59))
    expect(parseUntil('2027-01-31T18:00', winter, 'Europe/London').at).toBe(Date.UTC(2027, 0, 31, 18, 0))
    // A day in words too: "until Friday" includes Friday (winter is Wed 25 Nov 2026).
    expect(parseUntil('friday', winter, 'Europe/London')).toEqual({at: Date.UTC(2026, 10, 27, 23, 59, 59), understood: 'friday'})
    expect(parseUntil('31 March 2027', winter, 'Europe/London').at).toBe(Date.UTC(2027, 2, 31, 22, 59, 59))
  })

  it('names --until and the value as typed, not the end of day it became', () => {
    expect(refusedUntil('2020-01-01')).toBe('--until "2020-01-01" is in the past (Wed 1 Jan 2020 23:59:59 GMT) — give a later time')
    expect(refusedUntil('03/04/2027')).toBe('--until "03/04/2027" could be 3 April or 4 March — write 2027-04-03 or 3 Apr 2027')
    expect(refusedUntil('2027-02-30')).toMatch(/^--until "2027-02-30" is not/)
    expect(refusedUntil('whenever')).toMatch(/^--until "whenever" is not a time crier understands/)
    expect(refusedUntil('yesterday')).toBe('--until "yesterday" is in the past (Tue 24 Nov 2026 23:59:59 GMT) — give a later time')
  })
})

describe('formatSpan', () => {
  it('says seconds under a minute and a half, then minutes, hours and minutes, days', () => {
    expect(formatSpan(25_000)).toBe('25 s')
    expect(formatSpan(20_000)).toBe('20 s')
    expect(formatSpan(16 * 60_000)).toBe('16 min')
    expect(formatSpan(18 * 3_600_000 + 38 * 60_000)).toBe('18 h 38 min')
    expect(formatSpan(3 * 86_400_000)).toBe('3 days')
  })
})
