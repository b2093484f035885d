import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {jsonOf, makeCrierHome, storeFacts, type CrierHome} from '../helpers/cli.js'

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
    expect(optout.stdout).toMatch(/Opted out \+447700900123 \(1 subscriber record\)/)
    const counts = jsonOf(home.run(['subscribers', 'list', '--json']))
    expect(counts).toEqual([{list: 'residents', subscribers: 2, optedOut: 1}])

    // Re-importing the same file keeps the opt-out.
    home.run(['subscribers', 'import', file, '--list', 'residents'])
    expect(jsonOf(home.run(['subscribers', 'list', '--json']))).toEqual([{list: 'residents', subscribers: 2, optedOut: 1}])
  })

  const bad: Array<[string, string | Buffer, RegExp]> = [
    ['no header', 'Ceri,ceri@example.org\n', /no header row/],
    ['a binary file', Buffer.from('email\n\u0000\u0001\u0002'), /looks binary/],
    ['invalid UTF-8', Buffer.concat([Buffer.from('email\n'), Buffer.from([0xff, 0xfe]), Buffer.from('@x.org\n')]), /not valid UTF-8/],
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

  it('refuses an optout that is neither an e-mail nor a phone number', () => {
    home = makeCrierHome()
    const result = home.run(['subscribers', 'optout', 'somebody'])
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(/^Error: "somebody" is not an e-mail address or a valid phone number/)
  })

  it('refuses an e-mail or SMS channel with no audience in config', () => {
    home = makeCrierHome()
    home.writeConfig('channels:\n  residents-text: {type: webhook, url: "http://127.0.0.1:9"}\n  mail: {type: email, smtp: "smtp://127.0.0.1:2525", from: "Alerts <alerts@example.org>"}\n')
    const result = home.run(['channels', 'list'])
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(/channels\.mail\.audience: expected a string/)
  })
})
