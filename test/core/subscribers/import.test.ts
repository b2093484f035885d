import {chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse as parseCsv} from 'csv-parse/sync'
import {describe, expect, it} from 'vitest'
import {checkRow, importSubscribers} from '../../../src/core/subscribers/import.js'
import {normaliseContact} from '../../../src/core/subscribers/contacts.js'
import {csvWorlds, writeCsv} from '../../helpers/csv-world.js'
import {asUnprivilegedUser} from '../../helpers/unprivileged.js'

const csvWorld = csvWorlds()

const header = 'name,email,phone,language,lat,lon,zone,tags\r\n'

describe('subscriber import', () => {
  it('imports a CSV with a BOM, CRLF and quoted commas, normalising contacts', async () => {
    const w = csvWorld()
    const file = writeCsv(w, 'residents.csv', '\uFEFF' + header + '"Jones, Ceri",Ceri@Example.ORG,07700 900123,cy-GB,53.2274,-4.1293,Bangor,"responders;volunteers"\r\nBob,,+44 7700 900456,,,,,\r\n')
    const result = await importSubscribers(w.ctx, file, 'residents')
    expect(result).toMatchObject({imported: 2, inserted: 2, updated: 0, rejected: 0})
    const rows = [...w.store.subscribers.iterateList('residents')]
    expect(rows[0]).toMatchObject({name: 'Jones, Ceri', email: 'ceri@example.org', phone: '+447700900123', language: 'cy-GB', lat: 53.2274, lon: -4.1293, zone: 'Bangor', tags: ['responders', 'volunteers']})
    expect(rows[1]).toMatchObject({name: 'Bob', email: null, phone: '+447700900456'})
    expect(existsSync(join(w.home, 'residents.rejected.csv'))).toBe(false)
  })

  it('upserts by contact: re-importing updates, never duplicates, and keeps opt-outs', async () => {
    const w = csvWorld()
    const file = writeCsv(w, 'a.csv', header + 'Ceri,ceri@example.org,,,,,,\nDai,,+447700900789,,,,,\n')
    await importSubscribers(w.ctx, file, 'residents')
    w.store.subscribers.optOut('+447700900789', 'test', Date.now())
    const again = writeCsv(w, 'b.csv', header + 'Ceri Jones,ceri@example.org,+447700900123,,,,,\nDai,,+447700900789,,,,,\n')
    const result = await importSubscribers(w.ctx, again, 'residents')
    expect(result).toMatchObject({imported: 2, inserted: 0, updated: 2, rejected: 0})
    const rows = [...w.store.subscribers.iterateList('residents')]
    expect(rows).toHaveLength(2)
    expect(rows[0]).toMatchObject({name: 'Ceri Jones', email: 'ceri@example.org', phone: '+447700900123'})
    expect(rows[1]).toMatchObject({phone: '+447700900789', phoneOptedOut: true, emailOptedOut: false})
    // The same file again: each row updates its own subscriber; none is taken for a duplicate.
    expect(await importSubscribers(w.ctx, again, 'residents')).toMatchObject({imported: 2, inserted: 0, updated: 2, rejected: 0})
  })

  it('writes the rejected file safe to open in a spreadsheet, and takes it back in as it was once fixed', async () => {
    const w = csvWorld()
    const file = writeCsv(w, 'hostile.csv', header + `"=cmd|' /C calc'!A0",bad-email,,,,,,\n"+SUM(1+1)",,+44 7700 900123x,,,,,\n-3+cmd,,,,,,,\n"@x\u001b[31m",,,,,,"Zone\u001b]0;pwn\u0007A",\nPlain,,-12,,,,,\n`)
    expect(await importSubscribers(w.ctx, file, 'residents')).toMatchObject({imported: 0, rejected: 5})
    const rejectedFile = join(w.home, 'hostile.rejected.csv')
    const text = readFileSync(rejectedFile, 'utf8')
    expect(text).not.toContain('\u001b')
    const cells = text.trim().split('\n').slice(1).map((line) => line.split(',')[2])
    // Every cell a spreadsheet would take for a formula starts with an apostrophe; a number does not.
    expect(cells).toEqual([`'=cmd|' /C calc'!A0`, `'+SUM(1+1)`, `'-3+cmd`, `'@x`, 'Plain'])
    expect(text).toContain(",'+44 7700 900123x,")
    expect(text).toContain(',-12,')
    // Fixed (an address added) and imported again as it is, line and reason columns and all:
    // the names are as they were typed; what is still rejected gets today's reason.
    const fixed = text.replace(',bad-email,', ',ok@example.org,').replace("'+44 7700 900123x", "'+44 7700 900123")
    writeCsv(w, 'fixed.csv', fixed)
    const again = await importSubscribers(w.ctx, join(w.home, 'fixed.csv'), 'residents')
    expect(again).toMatchObject({imported: 2})
    expect([...w.store.subscribers.iterateList('residents')].map((row) => row.name)).toEqual(["=cmd|' /C calc'!A0", '+SUM(1+1)'])
    const again2 = readFileSync(join(w.home, 'fixed.rejected.csv'), 'utf8').trim().split('\n')
    expect(again2[0]).toBe('line,reason,name,email,phone,language,lat,lon,zone,tags')
    expect(again2.slice(1).map((line) => line.split(',').slice(0, 3).join(','))).toEqual(["4,no e-mail address or phone number,'-3+cmd", "5,no e-mail address or phone number,'@x", '6,"invalid phone number ""-12""",Plain'])
    expect(checkRow({name: '@x\u001b[31m', email: 'a@example.org', zone: 'Zone\u001b]0;pwn\u0007A\nB'}, 'residents')).toMatchObject({name: '@x', zone: 'ZoneA B'})
  })

  it('writes rejected rows beside the file with the line and reason', async () => {
    const w = csvWorld()
    const file = writeCsv(w, 'mixed.csv', header + 'Good,good@example.org,,,,,,\nBadMail,not-an-email,,,,,,\nBadPhone,,12,,,,,\nNobody,,,,,,,\nFar,far@example.org,,,95,0,,\nShort,short@example.org\n')
    const result = await importSubscribers(w.ctx, file, 'residents')
    // Far has a good e-mail address: imported without the place it cannot be put at.
    expect(result).toMatchObject({imported: 2, rejected: 4, partial: 1, rejectedFile: join(w.home, 'mixed.rejected.csv')})
    const rejected = readFileSync(join(w.home, 'mixed.rejected.csv'), 'utf8').trim().split('\n')
    expect(rejected[0]).toBe('line,reason,name,email,phone,language,lat,lon,zone,tags')
    expect(rejected.slice(1).map((line) => line.split(',').slice(0, 2).join(','))).toEqual([
      '3,"invalid e-mail address ""not-an-email"""',
      '4,"invalid phone number ""12"""',
      '5,no e-mail address or phone number',
      '6,"imported without lat and lon: invalid latitude ""95"" — an alert targeted by area cannot place them"',
      '7,"2 fields where the header has 8 — give every column',
    ])
    expect(rejected[5]).toBe('7,"2 fields where the header has 8 — give every column, empty ones as ,,; the row as read: Short,short@example.org",Short,short@example.org,,,,,,')
  })

  it('keeps the whole of a row with more fields than the header, saying how many', async () => {
    const w = csvWorld()
    const file = writeCsv(w, 'extra.csv', 'name,email,phone\r\nSmith, Jo,jo@example.com,+447700900011\r\n"Quoted, Al",al@example.com,+447700900012\r\n')
    const result = await importSubscribers(w.ctx, file, 'residents')
    expect(result).toMatchObject({imported: 1, rejected: 1})
    const [, row] = parseCsv(readFileSync(join(w.home, 'extra.rejected.csv'), 'utf8')) as string[][]
    expect(row!.slice(0, 2)).toEqual(['2', '4 fields where the header has 3 — a value holding a comma needs double quotes; the row as read: Smith, Jo,jo@example.com,+447700900011'])
    expect([...w.store.subscribers.iterateList('residents')].map((subscriber) => subscriber.name)).toEqual(['Quoted, Al'])
  })

  it('names the line a row starts on, where a quoted field holds line breaks', async () => {
    const w = csvWorld()
    const file = writeCsv(w, 'multiline.csv', 'name,email,phone\n"Multi\nline\r\nname",bad-email-1,\nOK,ok@example.com,\nBad,bad-email-2,\n')
    const result = await importSubscribers(w.ctx, file, 'residents')
    expect(result).toMatchObject({imported: 1, rejected: 2})
    const lines = readFileSync(join(w.home, 'multiline.rejected.csv'), 'utf8').split('\n')
    expect(lines[1]).toMatch(/^2,"invalid e-mail address ""bad-email-1""",/)
    // csv-parse counts the quoted CR LF as two lines; the row is on line 6 all the same.
    expect(lines.find((line) => line.includes('bad-email-2'))).toMatch(/^6,/)
  })

  it('names the right lines after several quoted CR LFs in a CR LF file', async () => {
    const w = csvWorld()
    const rows = ['name,email', '"Flat 2\r\nHigh St",bad-1', 'OK,ok@example.com', '"Ty Newydd\r\nLon Las\r\nBangor",bad-2', 'Bad,bad-3', '']
    const file = writeCsv(w, 'crlf.csv', rows.join('\r\n'))
    expect(await importSubscribers(w.ctx, file, 'residents')).toMatchObject({imported: 1, rejected: 3})
    const rejected = parseCsv(readFileSync(join(w.home, 'crlf.rejected.csv'), 'utf8'), {columns: true}) as Array<{line: string; email: string}>
    // Lines as an editor numbers them: Flat 2 on 2-3, OK on 4, Ty Newydd on 5-7, Bad on 8.
    expect(rejected.map(({line, email}) => [line, email])).toEqual([
      ['2', 'bad-1'],
      ['5', 'bad-2'],
      ['8', 'bad-3'],
    ])
  })

  it('imports a resident with a usable e-mail address without the field that cannot be used, saying so', async () => {
    const w = csvWorld()
    const file = writeCsv(w, 'partly.csv', 'name,email,phone,language\nA,a1@example.org,12,Welsh\nB,b1@example.org,,cy_GB\nC,c1@example.org,12,\nD,d1@example.org,,Klingon please\nE,nonsense,12,en\n')
    const result = await importSubscribers(w.ctx, file, 'residents')
    expect(result).toMatchObject({imported: 4, rejected: 1, partial: 3})
    const byEmail = new Map([...w.store.subscribers.iterateList('residents')].map((s) => [s.email, s]))
    expect([...byEmail.keys()].sort()).toEqual(['a1@example.org', 'b1@example.org', 'c1@example.org', 'd1@example.org'])
    expect(byEmail.get('a1@example.org')).toMatchObject({phone: null, language: 'cy'})
    expect(byEmail.get('b1@example.org')).toMatchObject({language: 'cy-GB'})
    expect(byEmail.get('c1@example.org')).toMatchObject({phone: null})
    expect(byEmail.get('d1@example.org')).toMatchObject({language: null})
    const rows = readFileSync(join(w.home, 'partly.rejected.csv'), 'utf8').trim().split('\n').slice(1)
    expect(rows).toHaveLength(4)
    expect(rows[0]).toMatch(/^2,"imported without the phone number: invalid phone number ""12""/)
    expect(rows[1]).toMatch(/^4,"imported without the phone number: invalid phone number ""12""/)
    expect(rows[2]).toMatch(/^5,"imported without the language: ""Klingon please"" is not a language tag/)
    expect(rows[3]).toMatch(/^6,"invalid e-mail address ""nonsense""; invalid phone number ""12""/)
  })

  it('refuses a row whose e-mail and phone belong to two different subscribers', async () => {
    const w = csvWorld()
    await importSubscribers(w.ctx, writeCsv(w, 'a.csv', header + 'A,a@example.org,,,,,,\nB,,+447700900111,,,,,\n'), 'residents')
    const result = await importSubscribers(w.ctx, writeCsv(w, 'b.csv', header + 'AB,a@example.org,+447700900111,,,,,\n'), 'residents')
    expect(result).toMatchObject({imported: 0, rejected: 1})
  })

  const fatal: Array<[string, string | Buffer, RegExp]> = [
    ['a missing header', 'Ceri,ceri@example.org\n', /has no header row/],
    ['an unknown column', 'name,email,postcode\nA,a@example.org,LL57\n', /unknown column postcode/],
    ['a binary file', Buffer.from([0x65, 0x6d, 0x61, 0x69, 0x6c, 0x0a, 0x00, 0x01, 0x02]), /looks binary/],
    ['invalid UTF-8', Buffer.concat([Buffer.from(header + 'Caf'), Buffer.from([0xe9]), Buffer.from(',a@example.org,,,,,,\n')]), /not valid UTF-8/],
    ['an unclosed quote', header + '"Unclosed,a@example.org,,,,,,\n', /Quote Not Closed/],
    ['nothing in it', '', /has no header row naming its columns \(it is empty\) — nothing was imported/],
    ['only a byte-order mark', '\uFEFF', /has no header row naming its columns \(it is empty\) — nothing was imported/],
    ['only blank lines', '\n\r\n\n', /has no header row naming its columns \(it is empty\) — nothing was imported/],
  ]
  for (const [what, content, message] of fatal) {
    it(`imports nothing from a file with ${what}`, async () => {
      const w = csvWorld()
      await importSubscribers(w.ctx, writeCsv(w, 'ok.csv', header + 'Kept,kept@example.org,,,,,,\n'), 'residents')
      // Good rows before the fatal problem must be rolled back with it.
      const body = typeof content === 'string' && what === 'an unclosed quote' ? header + 'Early,early@example.org,,,,,,\nBad,bad@example.org,,,,,,\n' + content.slice(header.length) : content
      await expect(importSubscribers(w.ctx, writeCsv(w, 'bad.csv', body), 'residents')).rejects.toThrow(message)
      expect([...w.store.subscribers.iterateList('residents')].map((s) => s.email)).toEqual(['kept@example.org'])
      expect(existsSync(join(w.home, 'bad.rejected.csv'))).toBe(false)
      expect(w.store.db.inTransaction).toBe(false)
    })
  }

  it("fails whole, importing nothing, where an earlier import's rejected file cannot be removed", async () => {
    // It was removed after the commit: the rows were in, and the import said it had failed.
    const w = csvWorld()
    // Not under the world's home, which only its owner may enter.
    const folder = mkdtempSync(join(tmpdir(), 'crier-shared-drive-'))
    try {
      const file = join(folder, 'residents.csv')
      writeFileSync(file, header + 'Ann,ann@example.org,,,,,,\n')
      writeFileSync(join(folder, 'residents.rejected.csv'), 'line,reason\n3,an earlier import\n')
      chmodSync(folder, 0o555)
      try {
        await expect(asUnprivilegedUser(() => importSubscribers(w.ctx, file, 'residents'))).rejects.toThrow(
          /^cannot remove .*residents\.rejected\.csv, an earlier import's rejected rows \(EACCES\) — nothing was imported; import from a folder you can write to$/,
        )
      } finally {
        chmodSync(folder, 0o755)
      }
      expect(w.store.subscribers.listContactCounts()).toEqual([])
      expect(w.store.db.inTransaction).toBe(false)
      expect(readFileSync(join(folder, 'residents.rejected.csv'), 'utf8')).toBe('line,reason\n3,an earlier import\n')
      // Where it can, the same import goes in and takes the stale file away.
      expect(await importSubscribers(w.ctx, file, 'residents')).toMatchObject({imported: 1, rejected: 0})
      expect(readdirSync(folder)).toEqual(['residents.csv'])
    } finally {
      rmSync(folder, {recursive: true, force: true})
    }
  })

  it('streams a large file without holding it (100,000 rows)', async () => {
    const w = csvWorld()
    const lines = [header]
    for (let i = 0; i < 100_000; i++) lines.push(`Resident ${i},r${i}@example.org,,,,,,\n`)
    const file = writeCsv(w, 'big.csv', lines.join(''))
    const result = await importSubscribers(w.ctx, file, 'county')
    expect(result).toMatchObject({imported: 100_000, rejected: 0})
    expect(w.store.subscribers.listContactCounts()).toEqual([expect.objectContaining({list: 'county', subscribers: 100_000, optedOut: 0})])
  })
})

describe('checkRow and contacts', () => {
  it('takes only addresses the e-mail driver sends to, and coordinates in decimal degrees', () => {
    // An address with an invisible character was stored as typed and sent as cleaned: its opt-out never matched.
    for (const email of ['ann@example.org\u0085', 'ann@example.org\u007f', 'a\u0007nn@example.org', 'ann\u200b@example.org', 'b@example..org', 'b\\c@example.org', 'b@exa_mple.org', 'b@-example.org', `${'x'.repeat(250)}@example.org`]) {
      expect(checkRow({email}, 'l'), JSON.stringify(email)).toBe(`invalid e-mail address "${email}"`)
    }
    expect(normaliseContact('ann@example.org\u007f')).toBeUndefined()
    expect(checkRow({email: ' Ñandú@Correo.es '}, 'l')).toMatchObject({email: 'ñandú@correo.es'})
    expect(checkRow({email: 'a@example.org', lat: '53.2274', lon: '-4.1293'}, 'l')).toMatchObject({lat: 53.2274, lon: -4.1293})
    for (const [lat, lon] of [['0x20', '0b11'], ['5.3e1', '-4'], ['53', 'Infinity']]) {
      expect(checkRow({email: 'a@example.org', lat, lon}, 'l')).toMatchObject({lat: null, lon: null, dropped: [expect.stringMatching(/^without lat and lon: invalid (latitude|longitude)/)]})
    }
  })

  it('normalises phones with the default region and lower-cases e-mail', () => {
    expect(normaliseContact('07700 900123', 'GB')).toBe('+447700900123')
    expect(normaliseContact('+1 (415) 555-0123')).toBe('+14155550123')
    expect(normaliseContact('Ceri@Example.Org')).toBe('ceri@example.org')
    expect(normaliseContact('12')).toBeUndefined()
    expect(normaliseContact('call me')).toBeUndefined()
  })

  it('refuses rows with no usable contact; leaves out, and says, what else cannot be used', () => {
    expect(checkRow({phone: '7700900123'}, 'l')).toMatch(/need defaultRegion/)
    // A number with its +country is wrong in itself: no region would help.
    expect(checkRow({phone: '+4477009001100'}, 'l')).toBe('invalid phone number "+4477009001100"')
    expect(checkRow({email: 'not-an-email', phone: '12'}, 'l')).toBe('invalid e-mail address "not-an-email"; invalid phone number "12" (numbers without +country need defaultRegion in config)')
    // With a usable contact, what cannot be used is left out, and said.
    expect(checkRow({email: 'a@example.org', lat: '53'}, 'l')).toMatchObject({lat: null, lon: null, dropped: [expect.stringMatching(/^without lat and lon: lat and lon must be given together/)]})
    expect(checkRow({email: 'a@example.org', language: 'english please'}, 'l')).toMatchObject({language: null, dropped: [expect.stringMatching(/^without the language/)]})
    expect(checkRow({email: 'a@example.org', language: 'English'}, 'l')).toMatchObject({language: 'en'})
    expect(checkRow({email: 'a@example.org', language: 'Cymraeg'}, 'l')).not.toHaveProperty('dropped')
  })
})
