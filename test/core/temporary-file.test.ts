import {lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it, vi} from 'vitest'
import {writeAuditExport} from '../../src/core/audit-export.js'
import {importSubscribers} from '../../src/core/subscribers/import.js'
import {csvWorlds, writeCsv} from '../helpers/csv-world.js'

// Another local user who can write to the folder an export or import writes to plants a
// symlink, or a file of their own, under the name crier gives its temporary file. Here the
// name is made guessable on purpose (randomBytes fixed), as a pid-based name was: crier must
// still refuse to write through what it did not create.
vi.mock('node:crypto', async (original) => ({...(await original<typeof import('node:crypto')>()), randomBytes: (size: number) => Buffer.alloc(size, 0xab)}))

const csvWorld = csvWorlds()

/** The victim file and a symlink to it under the temporary name crier would use for `file`. */
function plant(folder: string, file: string): string {
  const victim = join(folder, 'victim.txt')
  writeFileSync(victim, 'IMPORTANT\n')
  symlinkSync(victim, `${file}.abababababab.partial`)
  return victim
}

describe('a temporary file planted before crier writes', () => {
  it('is never written through by an audit export: the export fails, the file it points at is untouched', async () => {
    const w = csvWorld()
    const shared = join(w.home, 'shared')
    mkdirSync(shared)
    const target = join(shared, 'audit.jsonl')
    const victim = plant(shared, target)
    await expect(writeAuditExport(w.store, target)).rejects.toThrow(/cannot write .*audit\.jsonl \(EEXIST\)/)
    expect(readFileSync(victim, 'utf8')).toBe('IMPORTANT\n')
    expect(() => lstatSync(target)).toThrow()
  })

  it('is never written through by an import’s rejected rows: nothing is imported, the file it points at is untouched', async () => {
    const w = csvWorld()
    const file = writeCsv(w, 'residents.csv', 'name,email,phone\nCeri,not-an-address,\nDai,dai@example.org,\n')
    const victim = plant(w.home, join(w.home, 'residents.rejected.csv'))
    await expect(importSubscribers(w.ctx, file, 'residents')).rejects.toThrow(/cannot write the rejected rows .* \(EEXIST\) — nothing was imported/)
    expect(readFileSync(victim, 'utf8')).toBe('IMPORTANT\n')
    expect([...w.store.subscribers.iterateList('residents')]).toHaveLength(0)
  })

  it('leaves what crier wrote private, whatever was there before under the final name', async () => {
    const w = csvWorld()
    const target = join(w.home, 'audit.jsonl')
    writeFileSync(target, 'old\n', {mode: 0o666})
    await writeAuditExport(w.store, target)
    expect(statSync(target).mode & 0o777).toBe(0o600)
  })
})
