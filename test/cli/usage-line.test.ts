import {describe, expect, it} from 'vitest'
import {usageLine} from '../../src/cli/base-command.js'

// oclif's parse errors as oclif 4 words them (captured with CRIER_DEBUG=1), made one line.

const missingId = `Missing 1 required arg:
id  Announcement id (any unique prefix), or - to draft from stdin.

Note: --channel allows multiple values. Because of this you need to provide all arguments before providing that flag.
Alternatively, you can use "--" to signify the end of the flags and the beginning of arguments.
See more help with --help`

describe('usageLine', () => {
  it('names a missing argument and what it is, without the note about a flag the officer did not use', () => {
    expect(usageLine(missingId, 'broadcast', [])).toBe('missing argument ID: Announcement id (any unique prefix), or - to draft from stdin — see crier broadcast --help')
  })

  it("keeps the note when the flag that takes several values was given (it swallowed the id)", () => {
    for (const argv of [['--channel', 'website', '01M8B1'], ['--channel=website', '01M8B1']]) {
      expect(usageLine(missingId, 'broadcast', argv)).toBe(
        'missing argument ID: Announcement id (any unique prefix), or - to draft from stdin; --channel takes several values, so it took what followed it: give arguments before --channel, or after -- — see crier broadcast --help',
      )
    }
  })

  it('the note as oclif words it for several such flags names the one given', () => {
    const several = missingId.replace('Note: --channel allows multiple values. Because of this you need to provide all arguments before providing that flag.', 'Note: --channel, --circle, --polygon, --zone allow multiple values. Because of this you need to provide all arguments before providing those flags.')
    expect(usageLine(several, 'edit', [])).toBe('missing argument ID: Announcement id (any unique prefix), or - to draft from stdin — see crier edit --help')
    expect(usageLine(several, 'edit', ['--zone', 'north'])).toBe(
      'missing argument ID: Announcement id (any unique prefix), or - to draft from stdin; --zone takes several values, so it took what followed it: give arguments before --zone, or after -- — see crier edit --help',
    )
  })

  it('several missing arguments, each named', () => {
    expect(usageLine('Missing 2 required args:\nlist  The list.\nfile  The CSV file.\nSee more help with --help', 'subscribers:import')).toBe(
      'missing argument LIST: The list; FILE: The CSV file — see crier subscribers import --help',
    )
  })

  it('a flag value oclif could not parse: the flag, then why', () => {
    expect(usageLine('Parsing --limit \n\tExpected an integer greater than or equal to 1 but received: 0\nSee more help with --help', 'list')).toBe(
      '--limit: expected an integer greater than or equal to 1 but received: 0 — see crier list --help',
    )
  })

  it('a missing required flag named as it is typed, with its dashes', () => {
    expect(usageLine('The following error occurred:\n  Missing required flag reason\nSee more help with --help', 'reject')).toBe('missing --reason — see crier reject --help')
  })

  it('other errors pass through as one line, without oclif\'s headers', () => {
    expect(usageLine('The following error occurred:\n  Nonexistent flag: --bogus\nSee more help with --help', 'list')).toBe('Nonexistent flag: --bogus — see crier list --help')
    expect(usageLine('Unexpected argument: b\nSee more help with --help', undefined)).toBe('Unexpected argument: b — see crier --help')
  })
})
