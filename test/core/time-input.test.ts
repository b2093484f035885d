import {describe, expect, it} from 'vitest'
import {ExitCode, UsageError} from '../../src/core/errors.js'
import {parseExpiry, parseSince} from '../../src/core/time-input.js'
import {parseUntil} from '../../src/core/when.js'

const minute = 60_000
const hour = 60 * minute
const day = 24 * hour
/** 25 Nov 2026 13:00:00.250 UTC: a fraction of a second, so no test relies on whole seconds. */
const now = Date.UTC(2026, 10, 25, 13, 0, 0, 250)

function refused(text: string, at = now): UsageError {
  try {
    parseExpiry(text, at)
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).exitCode).toBe(ExitCode.usage)
    return error as UsageError
  }
  throw new Error(`--expires "${text}" was accepted`)
}

describe('parseExpiry: relative times', () => {
  it('+6h is six hours from now', () => expect(parseExpiry('+6h', now)).toBe(now + 6 * hour))
  it('+2d is two days from now', () => expect(parseExpiry('+2d', now)).toBe(now + 2 * day))
  it('+90m is ninety minutes from now', () => expect(parseExpiry('+90m', now)).toBe(now + 90 * minute))
  it('+30s and +1.5h work too', () => {
    expect(parseExpiry('+30s', now)).toBe(now + 30_000)
    expect(parseExpiry('+1.5h', now)).toBe(now + 90 * minute)
  })
  it('ignores surrounding spaces', () => expect(parseExpiry('  +6h ', now)).toBe(now + 6 * hour))
})

describe('parseExpiry: ISO 8601', () => {
  it('with Z', () => expect(parseExpiry('2026-11-25T18:00:00Z', now)).toBe(Date.UTC(2026, 10, 25, 18, 0, 0)))
  it('with Z and no seconds', () => expect(parseExpiry('2026-11-25T18:00Z', now)).toBe(Date.UTC(2026, 10, 25, 18, 0, 0)))
  it('with a fraction of a second', () => expect(parseExpiry('2026-11-25T18:00:00.500Z', now)).toBe(Date.UTC(2026, 10, 25, 18, 0, 0, 500)))
  it('with an offset', () => expect(parseExpiry('2026-11-25T18:00:00+02:00', now)).toBe(Date.UTC(2026, 10, 25, 16, 0, 0)))
  it('with a negative offset', () => expect(parseExpiry('2026-11-25T18:00:00-05:00', now)).toBe(Date.UTC(2026, 10, 25, 23, 0, 0)))
  it('with a space instead of T', () => expect(parseExpiry('2026-11-25 18:00Z', now)).toBe(Date.UTC(2026, 10, 25, 18, 0, 0)))
  it('date only: the end of that day (UTC by default)', () => expect(parseExpiry('2026-11-27', now)).toBe(Date.UTC(2026, 10, 27, 23, 59, 59)))

  it('date only: the end of that day in the zone, as schedule --until reads it', () => {
    expect(parseExpiry('2027-06-01', now, 'Europe/London')).toBe(Date.UTC(2027, 5, 1, 22, 59, 59))
    expect(parseExpiry('2027-01-31', now, 'America/New_York')).toBe(Date.UTC(2027, 1, 1, 4, 59, 59))
    for (const [date, zone] of [['2027-06-01', 'Europe/London'], ['2027-01-31', 'America/New_York'], ['2026-11-27', 'UTC']] as const) {
      expect(parseExpiry(date, now, zone)).toBe(parseUntil(date, now, zone).at)
    }
  })

  it('date only: today is the rest of today, not the past', () => expect(parseExpiry('2026-11-25', now)).toBe(Date.UTC(2026, 10, 25, 23, 59, 59)))

  it('date only that is not a date is still refused', () => expect(refused('2026-02-30').message).toContain('"2026-02-30" is not a time'))
})

describe('parseExpiry: refused', () => {
  it('a time in the past, saying so', () => {
    const error = refused('2020-01-01T00:00:00Z')
    expect(error.message).toMatch(/in the past/)
    expect(error.message).toContain('2020-01-01T00:00:00.000Z')
  })

  it('a date in the past', () => expect(refused('2026-11-24').message).toMatch(/in the past/))

  it('exactly now', () => expect(refused(new Date(now).toISOString()).message).toMatch(/in the past/))

  it('a moment ago', () => expect(refused(new Date(now - 1000).toISOString()).message).toMatch(/in the past/))

  // Stored, these broke every later show, preview and broadcast ("Invalid time value", "cannot store REAL value").
  for (const far of ['+100000000d', '+99999999999999999999d', '+2914000d', '+99999999999999999999999999h']) {
    it(`an expiry no date can hold: ${far}, as usage, naming it and the limit`, () => {
      expect(refused(far).message).toBe(`--expires "${far}" is past the year 9999 — give a nearer time (+6h, +2d, 2026-11-25T18:00Z)`)
    })
  }

  it('up to the end of the year 9999 is accepted (policy warns about far-off expiries; it does not forbid them)', () => {
    expect(parseExpiry('+3650d', now)).toBe(now + 3650 * day)
    expect(parseExpiry('2099-12-31T23:00:00Z', now)).toBe(Date.UTC(2099, 11, 31, 23))
    expect(parseExpiry('9999-12-31T23:59:59Z', now)).toBe(Date.UTC(9999, 11, 31, 23, 59, 59))
  })

  for (const garbage of ['', '   ', 'tomorrow', 'soon', '6h', '-6h', '+6', '+6x', '+h', '+0h', '+-6h', '2026-13-45', '2026-11-25T25:00Z', '25/11/2026', '2026-11-25T18:00+2', 'NaN', '+Infinityh', '2026-11-25T18:00Zjunk']) {
    it(`garbage: ${JSON.stringify(garbage)}, with the forms it accepts`, () => {
      const error = refused(garbage)
      expect(error.message).toContain(`"${garbage}" is not a time`)
      expect(error.message).toMatch(/ISO 8601/)
      expect(error.message).toMatch(/\+6h/)
    })
  }
})

describe('parseSince', () => {
  it('a duration back from now', () => {
    expect(parseSince('24h', now)).toBe(now - day)
    expect(parseSince('7d', now)).toBe(now - 7 * day)
  })
  it('an ISO date or time', () => {
    expect(parseSince('2026-11-20', now)).toBe(Date.UTC(2026, 10, 20))
    expect(parseSince('2026-11-20T06:00:00Z', now)).toBe(Date.UTC(2026, 10, 20, 6))
  })
  it('refuses garbage with exit 2', () => {
    expect(() => parseSince('last week', now)).toThrow(UsageError)
    expect(() => parseSince('Tuesday 2026-11-20', now)).toThrow(/is not a time/)
  })
  it('refuses a duration further back than a Date can hold (exit 2), and takes one just inside', () => {
    expect(() => parseSince('9999999999999999d', now)).toThrow(UsageError)
    expect(() => parseSince('9'.repeat(400) + 'h', now, 'UTC', '--until')).toThrow(/^--until "9+h" is further back than any date/)
    expect(parseSince('100000000d', 0)).toBe(-8.64e15)
  })
})
