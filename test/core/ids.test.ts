import {describe, expect, it} from 'vitest'
import {ExitCode, UsageError} from '../../src/core/errors.js'
import {newId, resolveIdPrefix, shortId, shortIdLength} from '../../src/core/ids.js'

const ids = [
  '01JD5X0000ABCDEFGHJKMNPQRS',
  '01JD5X0000ABCDEFGHJKMNPQRT',
  '01JD5X1111ZZZZZZZZZZZZZZZZ',
  '01JE000000000000000000000A',
]

/** What the store answers: the ids starting with the (upper-cased) prefix. */
const lookup = (prefix: string) => ids.filter((id) => id.startsWith(prefix))

function refused(typed: string, find: (prefix: string) => string[] = lookup): UsageError {
  try {
    resolveIdPrefix(typed, find)
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).exitCode).toBe(ExitCode.usage)
    return error as UsageError
  }
  throw new Error(`"${typed}" was resolved`)
}

describe('resolveIdPrefix', () => {
  it('resolves a whole id', () => expect(resolveIdPrefix(ids[2]!, lookup)).toBe(ids[2]))

  it('resolves a unique prefix', () => {
    expect(resolveIdPrefix('01JD5X1', lookup)).toBe(ids[2])
    expect(resolveIdPrefix('01JE', lookup)).toBe(ids[3])
    expect(resolveIdPrefix('01JD5X0000ABCDEFGHJKMNPQRT', lookup)).toBe(ids[1])
  })

  it('accepts lower case and surrounding spaces, as people type', () => {
    expect(resolveIdPrefix(' 01jd5x1 ', lookup)).toBe(ids[2])
  })

  it('asks the store with the upper-cased prefix', () => {
    const asked: string[] = []
    resolveIdPrefix('01je', (prefix) => (asked.push(prefix), lookup(prefix)))
    expect(asked).toEqual(['01JE'])
  })

  it('refuses an ambiguous prefix, listing the candidates shortened', () => {
    const error = refused('01JD5X0000')
    expect(error.message).toContain('ambiguous')
    expect(error.message).toContain(shortId(ids[0]!))
    expect(error.message).toContain('type more characters')
  })

  it('lists at most five candidates, then …', () => {
    const many = Array.from({length: 6}, (_, i) => `01JD5X0000ABCDEFGHJKMNPQR${i}`)
    const error = refused('01JD5X', () => many)
    expect(error.message).toContain('…')
    expect(error.message.match(/01JD5X0000AB/g)).toHaveLength(5)
  })

  it('refuses an unknown id, pointing at crier list', () => {
    const error = refused('01JZZZ')
    expect(error.message).toMatch(/no announcement with id 01JZZZ/)
    expect(error.message).toContain('crier list')
  })

  for (const tooShort of ['', '0', '01', '01J']) {
    it(`refuses a prefix shorter than 4 characters: ${JSON.stringify(tooShort)}`, () => {
      let asked = false
      const error = refused(tooShort, (prefix) => ((asked = true), lookup(prefix)))
      expect(error.message).toMatch(/at least 4 characters/)
      expect(asked).toBe(false)
    })
  }

  it('says why what was typed cannot be an id', () => {
    expect(refused('not-an-id').message).toMatch(/"not-an-id" is not an announcement id — ids are letters and digits \(never I, L, O or U\)/)
    expect(refused('01JD5X0000ABCDEFGHJKMNPQRSX').message).toMatch(/ids are 26 characters long/)
    expect(refused('01J').message).toMatch(/use at least 4 characters/)
  })

  for (const notAnId of ['01JD-5X', '01JD5X0000ABCDEFGHJKMNPQRSX', '01JU', "01JD'; DROP TABLE announcement; --", '01JD5%']) {
    it(`refuses what cannot be an id without asking the store: ${JSON.stringify(notAnId)}`, () => {
      let asked = false
      refused(notAnId, (prefix) => ((asked = true), lookup(prefix)))
      expect(asked).toBe(false)
    })
  }

  it('names what it looked for', () => {
    expect(refused('01JZZZ', () => []).message).toContain('announcement')
    expect(() => resolveIdPrefix('01JZZZ', () => [], 'delivery')).toThrow(/no delivery with id 01JZZZ/)
  })
})

describe('newId and shortId', () => {
  it('makes ULIDs: 26 Crockford base-32 characters, sortable by time', () => {
    const a = newId(Date.UTC(2026, 0, 1))
    const b = newId(Date.UTC(2026, 0, 2))
    expect(a).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/)
    expect(a < b).toBe(true)
  })

  it('keeps ids made in the same millisecond distinct and in order', () => {
    const at = Date.UTC(2026, 0, 1)
    const made = Array.from({length: 50}, () => newId(at))
    expect(new Set(made).size).toBe(50)
    expect([...made].sort()).toEqual(made)
  })

  it('shows the first 12 characters', () => {
    expect(shortIdLength).toBe(12)
    expect(shortId(ids[0]!)).toBe('01JD5X0000AB')
  })
})
