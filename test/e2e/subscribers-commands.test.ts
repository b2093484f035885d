import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {crierBin, jsonOf, makeCrierHome, storeFacts, type CrierHome} from '../helpers/cli.js'

let home: CrierHome | undefined
afterEach(() => {
  home?.cleanup()
  home = undefined
})

function subscriberCount(h: CrierHome): number {
  const db = h.db()
  try {
    return db.prepare('SELECT count(*) FROM subscriber').pluck().get() as number
  } finally {
    db.close()
  }
}

describe('crier subscribers', () => {
  it('imports, lists, counts and opts out through the built CLI', () => {
    home = makeCrierHome()
    home.writeConfig('defaultRegion: GB\nchannels:\n  website: {type: feed, dir: ./public}\n')
    const file = join(home.home, 'residents.csv')
    writeFileSync(file, 'name,email,phone,language,lat,lon,zone,tags\nCeri,ceri@example.org,07700 900123,cy-GB,,,,\nBob,bob@example.org,,en-GB,,,,\nBad,nope,,,,,,\n')
    const imported = home.run(['subscribers', 'import', file, '--list', 'residents'])
    expect(imported.status, imported.stderr).toBe(0)
    expect(imported.stdout.trim()).toBe(`Imported 2 into residents (0 updated, 1 rejected — see ${join(home.home, 'residents.rejected.csv')})`)

    const listed = jsonOf<Array<{email: string; phone: string | null}>>(home.run(['subscribers', 'list', '--list', 'residents', '--json']))
    expect(listed.map((s) => s.email)).toEqual(['ceri@example.org', 'bob@example.org'])
    expect(listed[0]!.phone).toBe('+447700900123')

    const optout = home.run(['subscribers', 'optout', '07700900123'])
    expect(optout.status).toBe(0)
    expect(optout.stdout.trim()).toBe('Opted out +447700900123: nothing more is sent to this number, on any list or channel (1 subscriber record).')
    // Again: the first opt-out stands, and the officer is told when and how it was made.
    const again = home.run(['subscribers', 'optout', '+44 7700 900123', '--json'])
    expect(again.status).toBe(0)
    expect(JSON.parse(again.stdout)).toMatchObject({contact: '+447700900123', subscribers: 1, alreadyOptedOutAt: expect.any(Number)})
    expect(home.run(['subscribers', 'optout', '07700900123']).stdout.trim()).toMatch(
      /^\+447700900123 was already opted out \(\d{4}-\d\d-\d\d \d\d:\d\d [^,]+, crier subscribers optout by [^)]+\): nothing more is sent to this number, on any list or channel \(1 subscriber record\)\.$/,
    )
    const counts = jsonOf(home.run(['subscribers', 'list', '--json']))
    expect(counts).toEqual([{list: 'residents', subscribers: 2, optedOut: 1, emails: 2, emailsOptedOut: 0, phones: 1, phonesOptedOut: 1}])

    // Re-importing the same file keeps the opt-out.
    home.run(['subscribers', 'import', file, '--list', 'residents'])
    expect(jsonOf(home.run(['subscribers', 'list', '--json']))).toEqual([{list: 'residents', subscribers: 2, optedOut: 1, emails: 2, emailsOptedOut: 0, phones: 1, phonesOptedOut: 1}])
  })

  const bad: Array<[string, string | Buffer, RegExp]> = [
    ['no header', 'Ceri,ceri@example.org\n', /no header row/],
    ['a binary file', Buffer.from('email\n\u0000\u0001\u0002'), /looks binary/],
    ['invalid UTF-8', Buffer.concat([Buffer.from('email\n'), Buffer.from([0xff, 0xfe]), Buffer.from('@x.org\n')]), /not valid UTF-8/],
    ['nothing in it (0 bytes)', '', /no header row .* — nothing was imported/],
    ['only a byte-order mark', '\uFEFF', /no header row .* — nothing was imported/],
    ['only blank lines', '\n\n\r\n', /no header row .* — nothing was imported/],
    ['a quote inside a field', 'name,email\nBo"b",bob@example.org\n', /Invalid Opening Quote.* — fix the CSV; nothing was imported/],
  ]
  for (const [what, content, message] of bad) {
    it(`refuses a CSV with ${what}: one line, exit 2, nothing imported`, () => {
      home = makeCrierHome()
      const good = join(home.home, 'good.csv')
      writeFileSync(good, 'email\nkept@example.org\n')
      home.run(['subscribers', 'import', good, '--list', 'residents'])
      const file = join(home.home, 'bad.csv')
      writeFileSync(file, content)
      const result = home.run(['subscribers', 'import', file, '--list', 'residents'])
      expect(result.status).toBe(2)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
      expect(result.stderr).toMatch(message)
      expect(result.stderr).toMatch(/nothing was imported/)
      expect(subscriberCount(home)).toBe(1)
      expect(storeFacts(home).integrity).toBe('ok')
    })
  }

  it('an opt-out is per contact: list, --json and the counts say which contact it stops', () => {
    home = makeCrierHome()
    home.writeConfig('defaultRegion: GB\nchannels:\n  website: {type: feed, dir: ./public}\n')
    const file = join(home.home, 'residents.csv')
    writeFileSync(file, 'name,email,phone\nAnn,ann@example.com,07700 900111\nBob,bob@example.com,\n')
    expect(home.run(['subscribers', 'import', file, '--list', 'residents']).status).toBe(0)
    const optout = home.run(['subscribers', 'optout', 'Ann@Example.com'])
    expect(optout.status).toBe(0)
    expect(optout.stdout.trim()).toBe('Opted out ann@example.com: nothing more is sent to this address, on any list or channel (1 subscriber record).')

    const listed = jsonOf<Array<Record<string, unknown>>>(home.run(['subscribers', 'list', '--list', 'residents', '--json']))
    expect(listed[0]).toMatchObject({name: 'Ann', email: 'ann@example.com', emailOptedOut: true, phone: '+447700900111', phoneOptedOut: false})
    expect(listed[0]).not.toHaveProperty('optedOut')
    expect(listed[1]).toMatchObject({name: 'Bob', emailOptedOut: false, phoneOptedOut: false})
    const table = home.run(['subscribers', 'list', '--list', 'residents']).stdout.split('\n')
    expect(table[0]).toMatch(/ann@example\.com .*opted out: e-mail {2}Ann$/)
    expect(table[1]).not.toMatch(/opted out/)
    expect(home.run(['subscribers', 'list']).stdout.trim()).toBe('residents           2 subscribers: 2 e-mail addresses (1 opted out), 1 phone (0 opted out)')

    const help = home.run(['subscribers', 'optout', '--help'])
    expect(help.stdout).toMatch(/other contact is not opted out/)
  })

  it('a later row sharing a contact with an earlier row of the same file is rejected, not merged into it', () => {
    home = makeCrierHome()
    home.writeConfig('defaultRegion: GB\nchannels:\n  website: {type: feed, dir: ./public}\n')
    const file = join(home.home, 'fam.csv')
    writeFileSync(file, 'name,email,phone\nMum,mum@example.com,01492 000001\nDad,dad@example.com,01492000001\nKid,kid@example.com,\n')
    const rejectedFile = join(home.home, 'fam.rejected.csv')
    const imported = home.run(['subscribers', 'import', file, '--list', 'residents'])
    expect(imported.status, imported.stderr).toBe(0)
    expect(imported.stdout.trim()).toBe(`Imported 2 into residents (0 updated, 1 rejected — see ${rejectedFile})`)
    expect(readFileSync(rejectedFile, 'utf8')).toContain('3,same phone as line 2 — one contact belongs to one subscriber in a list,Dad,')
    const listed = jsonOf<Array<{name: string; email: string}>>(home.run(['subscribers', 'list', '--list', 'residents', '--json']))
    expect(listed.map((s) => [s.name, s.email])).toEqual([
      ['Mum', 'mum@example.com'],
      ['Kid', 'kid@example.com'],
    ])

    // Fixed and imported again: every row updates its subscriber, and the stale rejected file goes.
    writeFileSync(file, 'name,email,phone\nMum,mum@example.com,01492 000001\nKid,kid@example.com,\n')
    const again = home.run(['subscribers', 'import', file, '--list', 'residents'])
    expect(again.stdout.trim()).toBe('Imported 2 into residents (2 updated, 0 rejected)')
    expect(existsSync(rejectedFile)).toBe(false)
  })

  it('imports from stdin with -, its rejected rows going to LIST.rejected.csv where it runs', () => {
    home = makeCrierHome()
    home.writeConfig('defaultRegion: GB\nchannels:\n  website: {type: feed, dir: ./public}\n')
    const csv = 'name,email,phone\nCeri,ceri@example.org,07700 900123\nBad,nope,\n'
    const imported = home.run(['subscribers', 'import', '-', '--list', 'residents'], {input: csv, cwd: home.home})
    expect(imported.status, imported.stderr).toBe(0)
    expect(imported.stdout.trim()).toBe('Imported 1 into residents (0 updated, 1 rejected — see residents.rejected.csv)')
    expect(readFileSync(join(home.home, 'residents.rejected.csv'), 'utf8')).toContain('3,"invalid e-mail address ""nope""",Bad,nope')
    expect(jsonOf<Array<{phone: string}>>(home.run(['subscribers', 'list', '--list', 'residents', '--json'])).map((s) => s.phone)).toEqual(['+447700900123'])
    const binary = home.run(['subscribers', 'import', '-', '--list', 'residents'], {input: Buffer.from([0, 1, 2]), cwd: home.home})
    expect(binary.status).toBe(2)
    expect(binary.stderr).toBe('Error: stdin looks binary (a NUL byte at offset 0) — nothing was imported; give a CSV file\n')
    expect(subscriberCount(home)).toBe(1)
  })

  it("an input that is not a regular file (/dev/stdin, <(…) as /dev/fd/N) has its rejected rows go where -'s do, never beside the device", () => {
    home = makeCrierHome()
    home.writeConfig('defaultRegion: GB\nchannels:\n  website: {type: feed, dir: ./public}\n')
    const csv = 'name,email\nCeri,ceri@example.org\nBad,nope\n'
    // Through a shell's pipe (cat |): Node gives a child's stdin as a socket, which /dev/stdin cannot open (ENXIO).
    const fromStdin = spawnSync('bash', ['-c', `cat | "${process.execPath}" "${crierBin}" subscribers import /dev/stdin --list residents`], {env: home.env, cwd: home.home, input: csv, encoding: 'utf8'})
    expect(fromStdin.status, fromStdin.stderr).toBe(0)
    expect(fromStdin.stdout.trim()).toBe('Imported 1 into residents (0 updated, 1 rejected — see residents.rejected.csv)')
    expect(readFileSync(join(home.home, 'residents.rejected.csv'), 'utf8')).toContain('3,"invalid e-mail address ""nope""",Bad,nope')
    // bash's process substitution: a pipe named /dev/fd/63, in a folder nobody can write to.
    const substitution = `"${process.execPath}" "${crierBin}" subscribers import <(printf 'name,email\\nDai,dai@example.org\\nWorse,nah\\n') --list others`
    const substituted = spawnSync('bash', ['-c', substitution], {env: home.env, cwd: home.home, encoding: 'utf8'})
    expect(substituted.status, substituted.stderr).toBe(0)
    expect(substituted.stdout.trim()).toBe('Imported 1 into others (0 updated, 1 rejected — see others.rejected.csv)')
    expect(readFileSync(join(home.home, 'others.rejected.csv'), 'utf8')).toContain('3,"invalid e-mail address ""nah""",Worse,nah')
  })

  it('a list nobody imported into: exit 2 naming the lists there are, nothing on stdout', () => {
    home = makeCrierHome()
    const none = home.run(['subscribers', 'list', '--list', 'residents', '--json'])
    expect(none.status).toBe(2)
    expect(none.stdout).toBe('')
    expect(none.stderr).toBe('Error: no subscribers in a list "residents" — none imported yet: crier subscribers import FILE --list NAME\n')
    home.run(['subscribers', 'import', '-', '--list', 'residents'], {input: 'email\na@example.org\n', cwd: home.home})
    const typo = home.run(['subscribers', 'list', '--list', 'residnets'])
    expect(typo.status).toBe(2)
    expect(typo.stderr).toBe('Error: no subscribers in a list "residnets" — the lists are residents\n')
  })

  it('refuses a directory and a missing file: one line, exit 2', () => {
    home = makeCrierHome()
    const folder = join(home.home, 'exports')
    mkdirSync(folder)
    const directory = home.run(['subscribers', 'import', folder, '--list', 'residents'])
    expect(directory.status).toBe(2)
    expect(directory.stderr.trim()).toBe(`Error: ${folder} is a directory — give a CSV file`)
    const missing = home.run(['subscribers', 'import', join(home.home, 'missing.csv'), '--list', 'residents'])
    expect(missing.status).toBe(2)
    expect(missing.stderr.trim()).toBe(`Error: ${join(home.home, 'missing.csv')} does not exist — check the path`)
  })

  it('refuses a defaultRegion libphonenumber does not know, in one config line', () => {
    home = makeCrierHome()
    home.writeConfig('defaultRegion: XX\n')
    const result = home.run(['subscribers', 'optout', '07700900123'])
    expect(result.status).toBe(2)
    expect(result.stderr.trim()).toBe('Error: config.yaml: defaultRegion: "XX" is not a country code libphonenumber knows — use an ISO 3166 code such as GB or US')
    home.writeConfig('defaultRegion: gb\n')
    expect(home.run(['subscribers', 'optout', '07700900123']).stdout).toMatch(/^Opted out \+447700900123: /)
  })

  it('refuses an optout that is neither an e-mail nor a phone number', () => {
    home = makeCrierHome()
    const result = home.run(['subscribers', 'optout', 'somebody'])
    expect(result.status).toBe(2)
    expect(result.stderr).toBe('Error: "somebody" is not an e-mail address or a valid phone number — write phones as +44…, or set defaultRegion in config\n')
    // With defaultRegion set, the hint is not to set it.
    home.writeConfig('defaultRegion: GB\n')
    expect(home.run(['subscribers', 'optout', '12']).stderr).toBe('Error: "12" is not an e-mail address or a valid phone number — write phones as +44… or as a number in GB\n')
    expect(home.run(['subscribers', 'optout', 'tel:+447700900004']).stdout).toMatch(/^Opted out \+447700900004: /)
  })

  it('refuses an e-mail or SMS channel with no audience in config', () => {
    home = makeCrierHome()
    home.writeConfig('channels:\n  residents-text: {type: webhook, url: "http://127.0.0.1:9"}\n  mail: {type: email, smtp: "smtp://127.0.0.1:2525", from: "Alerts <alerts@example.org>"}\n')
    const result = home.run(['channels', 'list'])
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(/channels\.mail\.audience: expected a string/)
  })
})
