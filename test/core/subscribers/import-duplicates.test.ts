import {existsSync, mkdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {importSubscribers, readableFile} from '../../../src/core/subscribers/import.js'
import {LinesWritten} from '../../../src/core/subscribers/lines-written.js'
import {csvWorlds, writeCsv} from '../../helpers/csv-world.js'

// One contact belongs to one subscriber in a list: a later row of the same file that names a
// contact an earlier row wrote is rejected, not allowed to overwrite that subscriber. And the
// rejected file, and the refusals of paths that are no CSV file.

const csvWorld = csvWorlds()

const header = 'name,email,phone,language,lat,lon,zone,tags\n'
const rejectedLines = (file: string) => readFileSync(file, 'utf8').trim().split('\n').slice(1)

describe('rows of one file that share a contact', () => {
  it('rejects the later row naming the earlier line, keeps the earlier, and counts what was stored', async () => {
    const w = csvWorld()
    const file = writeCsv(w, 'fam.csv', 'name,email,phone\nMum,mum@example.com,01492 000001\nDad,dad@example.com,01492000001\nKid,kid@example.com,\nKid again,KID@example.com,\n')
    const result = await importSubscribers(w.ctx, file, 'residents')
    expect(result).toMatchObject({imported: 2, inserted: 2, updated: 0, rejected: 2, rejectedFile: join(w.home, 'fam.rejected.csv')})
    expect([...w.store.subscribers.iterateList('residents')].map((s) => [s.name, s.email, s.phone])).toEqual([
      ['Mum', 'mum@example.com', '+441492000001'],
      ['Kid', 'kid@example.com', null],
    ])
    expect(rejectedLines(join(w.home, 'fam.rejected.csv'))).toEqual([
      '3,same phone as line 2 — one contact belongs to one subscriber in a list,Dad,dad@example.com,01492000001,,,,,',
      '5,same e-mail as line 4 — one contact belongs to one subscriber in a list,Kid again,KID@example.com,,,,,,',
    ])
    const audited = w.store.audit.list({}).at(-1)!
    expect(audited.action).toBe('subscribers-imported')
    expect(JSON.parse(audited.details)).toMatchObject({inserted: 2, updated: 0, rejected: 2})
  })

  it('rejects a second row for a subscriber the file updated, before anything of it is written', async () => {
    const w = csvWorld()
    await importSubscribers(w.ctx, writeCsv(w, 'a.csv', header + 'Ann,ann@example.org,+447700900111,,,,,\n'), 'residents')
    // Line 2 updates Ann by e-mail; line 3 names her phone, with another e-mail, a language and a zone.
    const file = writeCsv(w, 'b.csv', header + 'Ann Jones,ann@example.org,,,,,,\nAndy,andy@example.org,+447700900111,en-GB,,,Conwy,\n')
    expect(await importSubscribers(w.ctx, file, 'residents')).toMatchObject({imported: 1, inserted: 0, updated: 1, rejected: 1})
    expect([...w.store.subscribers.iterateList('residents')]).toEqual([
      expect.objectContaining({name: 'Ann Jones', email: 'ann@example.org', phone: '+447700900111', language: null, zone: null}),
    ])
    expect(rejectedLines(join(w.home, 'b.rejected.csv'))[0]).toMatch(/^3,same phone as line 2 — /)
  })

  it('names both earlier lines when a row repeats the e-mail of one and the phone of another', async () => {
    const w = csvWorld()
    const file = writeCsv(w, 'c.csv', header + 'A,a@example.org,,,,,,\nB,,+447700900222,,,,,\nAB,a@example.org,+447700900222,,,,,\nA too,a@example.org,,,,,,\n')
    expect(await importSubscribers(w.ctx, file, 'residents')).toMatchObject({imported: 2, rejected: 2})
    expect(rejectedLines(join(w.home, 'c.rejected.csv')).map((line) => line.split(' — ')[0])).toEqual(['4,same e-mail as line 2 and phone as line 3', '5,same e-mail as line 2'])
  })

  it('re-importing a file updates each subscriber once and rejects nothing', async () => {
    const w = csvWorld()
    const file = writeCsv(w, 'r.csv', header + 'Ceri,ceri@example.org,07700 900123,,,,,\nDai,,+447700900789,,,,,\nBob,bob@example.org,,,,,,\n')
    expect(await importSubscribers(w.ctx, file, 'residents')).toMatchObject({imported: 3, inserted: 3, updated: 0, rejected: 0})
    expect(await importSubscribers(w.ctx, file, 'residents')).toMatchObject({imported: 3, inserted: 0, updated: 3, rejected: 0})
    expect(w.store.subscribers.audienceSize('residents')).toBe(3)
  })
})

describe('the rejected file', () => {
  it('is replaced by each import, kept by a failed one, and removed by one that rejected nothing', async () => {
    const w = csvWorld()
    const file = writeCsv(w, 'residents.csv', header + 'Good,good@example.org,,,,,,\nBad,nope,,,,,,\n')
    const rejectedFile = join(w.home, 'residents.rejected.csv')
    expect(await importSubscribers(w.ctx, file, 'residents')).toMatchObject({rejected: 1, rejectedFile})
    // A failed import imports nothing: the rejected file still describes the last import that did.
    writeCsv(w, 'residents.csv', header + 'Other,nope2,,,,,,\n"Unclosed,x@example.org,,,,,,\n')
    await expect(importSubscribers(w.ctx, file, 'residents')).rejects.toThrow(/nothing was imported/)
    expect(rejectedLines(rejectedFile)).toEqual(['3,"invalid e-mail address ""nope""",Bad,nope,,,,,,'])
    writeCsv(w, 'residents.csv', header + 'Good,good@example.org,,,,,,\n')
    const clean = await importSubscribers(w.ctx, file, 'residents')
    expect(clean).toMatchObject({imported: 1, rejected: 0})
    expect(clean.rejectedFile).toBeUndefined()
    expect(existsSync(rejectedFile)).toBe(false)
  })
})

describe('a path that is no CSV file', () => {
  it('refuses a directory and a missing file, saying which', async () => {
    const w = csvWorld()
    const folder = join(w.home, 'exports')
    mkdirSync(folder)
    await expect(importSubscribers(w.ctx, folder, 'residents')).rejects.toThrow(`${folder} is a directory — give a CSV file`)
    const missing = join(w.home, 'missing.csv')
    await expect(importSubscribers(w.ctx, missing, 'residents')).rejects.toThrow(`${missing} does not exist — check the path`)
    expect(w.store.db.inTransaction).toBe(false)
  })

  // As root (CI here) a file's mode stops no read, so the refusal is checked from the error the
  // read would give.
  it('refuses a file it may not read, saying so', () => {
    const error = Object.assign(new Error('EACCES: permission denied'), {code: 'EACCES'})
    expect(readableFile('/srv/secret.csv', error)?.message).toBe('/srv/secret.csv cannot be read (permission denied) — check its permissions, or run as a user who may read it')
  })
})

describe('LinesWritten', () => {
  it('remembers the line that wrote each subscriber id, growing as ids grow', () => {
    const written = new LinesWritten()
    expect(written.lineOf(5)).toBe(0)
    written.record(5, 2)
    written.record(1_000_000, 3)
    written.record(2 ** 40, 4)
    expect([written.lineOf(5), written.lineOf(6), written.lineOf(1_000_000), written.lineOf(2 ** 40), written.lineOf(2 ** 40 + 1)]).toEqual([2, 0, 3, 4, 0])
  })
})
