import {createWriteStream, statSync, writeFileSync} from 'node:fs'
import {once} from 'node:events'
import {join} from 'node:path'
import {openStore} from '../src/store/index.js'
import {emailFor, runCli} from './audience.js'
import {tempDir} from './fixtures.js'
import {summarise, type Summary} from './stats.js'

// `crier subscribers import FILE --list county` on a generated county-sized CSV, as a child
// process: wall time (rows/s, start-up included) and peak RSS. No baseline: for information.

export interface ImportResult {
  rows: number
  fileBytes: number
  /** rows per second, whole process */
  rate: Summary
  /** Peak RSS in bytes. */
  peakRss: Summary
  ms: Summary
  note?: string
}

const list = 'county'
const zones = ['Bangor', 'Caernarfon', 'Conwy', 'Llandudno', 'Rhyl', 'Wrexham', 'Holyhead', 'Pwllheli']
const rowsPerWrite = 10_000

/**
 * name,email,phone,language,lat,lon,zone,tags: unique e-mails and UK mobiles, one in four
 * written nationally ("07700 123456", read with defaultRegion GB), a third with a language,
 * a fifth with lat/lon, every row a zone, some tags and names that need quoting.
 */
export async function writeCountyCsv(file: string, rows: number): Promise<void> {
  const out = createWriteStream(file)
  out.write('name,email,phone,language,lat,lon,zone,tags\n')
  for (let start = 0; start < rows; start += rowsPerWrite) {
    let chunk = ''
    for (let i = start; i < Math.min(rows, start + rowsPerWrite); i++) {
      const digits = String(i).padStart(6, '0')
      const name = i % 50 === 0 ? `"Jones, Resident ${i}"` : `Resident ${i}`
      const mail = i % 7 === 0 ? emailFor(i).replace('resident', 'Resident') : emailFor(i)
      const phone = i % 4 === 0 ? `07700 ${digits}` : `+447700${digits}`
      const language = i % 3 === 0 ? (i % 2 === 0 ? 'cy-GB' : 'en-GB') : ''
      const position = i % 5 === 0 ? `${(53 + (i % 1000) / 1000).toFixed(4)},${(-4 + (i % 997) / 1000).toFixed(4)}` : ','
      const tags = i % 10 === 0 ? 'vulnerable;flood-zone' : ''
      chunk += `${name},${mail},${phone},${language},${position},${zones[i % zones.length]},${tags}\n`
    }
    if (!out.write(chunk)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

/** Up to `runs` imports into fresh homes; fewer when one more would exceed `budgetMs` for the section. */
export async function benchImport(rows: number, runs: number, budgetMs: number, log: (line: string) => void): Promise<ImportResult> {
  const began = performance.now()
  const file = join(tempDir('import-csv'), 'county.csv')
  const writeStarted = performance.now()
  await writeCountyCsv(file, rows)
  const fileBytes = statSync(file).size
  log(`${file}: ${rows.toLocaleString('en-GB')} rows, ${(fileBytes / 1e6).toFixed(1)} MB, written in ${((performance.now() - writeStarted) / 1000).toFixed(1)} s`)
  const samples: Array<{ms: number; rss: number}> = []
  let note: string | undefined
  for (let run = 0; run < runs; run++) {
    const home = tempDir('import')
    writeFileSync(join(home, 'config.yaml'), 'sender: alerts@northwales.example\ntimezone: Europe/London\ndefaultRegion: GB\n', {mode: 0o600})
    const result = await runCli(home, ['subscribers', 'import', file, '--list', list])
    const expected = `Imported ${rows.toLocaleString('en-GB')} into ${list} (0 updated, 0 rejected)`
    if (!result.stdout.includes(expected)) throw new Error(`import: expected "${expected}", got: ${result.stdout.trim()} ${result.stderr.trim()}`)
    const store = openStore(join(home, 'crier.db'))
    const stored = store.subscribers.audienceSize(list)
    store.close()
    if (stored !== rows) throw new Error(`import: ${stored} subscribers in ${list}, expected ${rows}`)
    samples.push({ms: result.ms, rss: result.peakRss})
    log(`  run ${run + 1}: ${(result.ms / 1000).toFixed(1)} s, peak ${(result.peakRss / 1e6).toFixed(1)} MB`)
    if (run + 1 < runs && performance.now() - began + result.ms > budgetMs) {
      note = `${run + 1} run${run === 0 ? '' : 's'} only: one import took ${(result.ms / 1000).toFixed(0)} s, and ${runs} would take this section past ~${Math.round(budgetMs / 60_000)} minutes`
      break
    }
  }
  return {
    rows,
    fileBytes,
    rate: summarise(samples.map((s) => (rows / s.ms) * 1000)),
    peakRss: summarise(samples.map((s) => s.rss)),
    ms: summarise(samples.map((s) => s.ms)),
    note,
  }
}
