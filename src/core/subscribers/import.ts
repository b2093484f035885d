import {createReadStream, createWriteStream, lstatSync, renameSync, rmSync, statSync, type WriteStream} from 'node:fs'
import {basename, resolve} from 'node:path'
import {Transform, pipeline, type Readable, type TransformCallback} from 'node:stream'
import {finished} from 'node:stream/promises'
import {CsvError, parse} from 'csv-parse'
import {parse as parseRow} from 'csv-parse/sync'
import {stringify} from 'csv-stringify'
import type {CoreContext} from '../context.js'
import {RuntimeFailure, UsageError} from '../errors.js'
import {publishableText} from '../terminal-text.js'
import type {SubscriberInput} from '../../store/subscribers.js'
import {normaliseEmail, normalisePhone} from './contacts.js'
import {earlierLineReason, LinesWritten} from './lines-written.js'
import {fromSpreadsheetSafe, spreadsheetSafe} from './spreadsheet-cell.js'
import {temporaryBeside} from '../temporary-file.js'

// `crier subscribers import FILE --list L`: a CSV streamed row by row (never the whole file in
// memory), each row checked, accepted rows upserted by contact in one transaction (a fatal
// problem rolls all of it back), rejected rows written beside the file with the reason.

// No subscriber row is anywhere near this; a file that has one is not a subscriber list (and
// csv-parse would otherwise buffer a 200 MB "field" whole).
const maxRecordBytes = 64 * 1024

export const subscriberColumns = ['name', 'email', 'phone', 'language', 'lat', 'lon', 'zone', 'tags'] as const
type Column = (typeof subscriberColumns)[number]

export interface ImportResult {
  list: string
  /** Rows written: inserted + updated (a later row for a subscriber already written is rejected, not counted again). */
  imported: number
  inserted: number
  updated: number
  rejected: number
  /** Rows imported without a field that could not be used (an unparseable phone beside a good e-mail): listed with the rejected. */
  partial: number
  /** Where the rejected rows and their reasons were written, when there were any. */
  rejectedFile?: string
}

export function rejectedFileFor(file: string): string {
  return /\.csv$/i.test(file) ? file.replace(/\.csv$/i, '.rejected.csv') : `${file}.rejected.csv`
}

/** Decodes strictly: invalid UTF-8 or a NUL byte (a binary file) stops the import. */
class StrictUtf8 extends Transform {
  private readonly decoder = new TextDecoder('utf-8', {fatal: true})
  private offset = 0
  constructor(private readonly file: string) {
    super({readableObjectMode: false, decodeStrings: true, encoding: 'utf8'})
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const nul = chunk.indexOf(0)
    if (nul >= 0) return callback(new UsageError(`${this.file} looks binary (a NUL byte at offset ${this.offset + nul}) — give a CSV file`))
    this.offset += chunk.length
    try {
      callback(null, this.decoder.decode(chunk, {stream: true}))
    } catch {
      callback(new UsageError(`${this.file} is not valid UTF-8 (near byte ${this.offset}) — save it as UTF-8 CSV`))
    }
  }
  override _flush(callback: TransformCallback): void {
    try {
      callback(null, this.decoder.decode())
    } catch {
      callback(new UsageError(`${this.file} ends in the middle of a UTF-8 character — save it as UTF-8 CSV`))
    }
  }
}

function noHeader(file: string, why = ''): UsageError {
  return new UsageError(`${file} has no header row naming its columns${why} — the first line must be like ${subscriberColumns.join(',')}`)
}

/** Decimal degrees as written (53.2274, -4.1293), or NaN: Number() would also read 0x20, 0b11 and 1e1 as places. */
function decimalDegrees(text: string): number {
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text) ? Number(text) : Number.NaN
}

/** The columns a rejected-rows file has before the subscriber's. */
const rejectedFileColumns = ['line', 'reason']

/** Where a row starts: csv-parse counts lines to where it ends, each CR and LF inside a quoted field one. */
function startLine(endLine: number, record: Record<string, string>): number {
  let breaks = 0
  for (const key in record) breaks += record[key]?.match(/[\r\n]/g)?.length ?? 0
  return endLine - breaks
}

function crLfsIn(record: Record<string, string>): number {
  let count = 0
  for (const key in record) count += record[key]?.match(/\r\n/g)?.length ?? 0
  return count
}

/**
 * Why a row the header does not fit is rejected: how many fields it has, and the row as read —
 * its cells in the rejected file hold only the header's columns, and an extra field is most
 * often half a name or an address with an unquoted comma, which the officer fixes from the row.
 */
function misfitReason(raw: string, headerFields: number): string {
  const row = raw.replace(/[\r\n]+$/, '')
  let found: number | undefined
  try {
    found = (parseRow(row, {relax_column_count: true, relax_quotes: true}) as string[][])[0]?.length
  } catch {
    // Counted by the stream's parser already; only the number is missing from the reason.
  }
  const hint = found !== undefined && found > headerFields ? 'a value holding a comma needs double quotes' : 'give every column, empty ones as ,,'
  return `${found ?? 'a different number of'} fields where the header has ${headerFields} — ${hint}; the row as read: ${row}`
}

function headerFor(file: string, onHeader: (fields: number) => void) {
  return (header: string[]): string[] => {
    onHeader(header.length)
    const names = header.map((name) => name.replace(/^\uFEFF/, '').trim().toLowerCase())
    if (!names.includes('email') && !names.includes('phone')) throw noHeader(file)
    // A rejected-rows file, fixed, comes back with its line and reason columns: they are not read.
    const unknown = names.filter((name) => name && !subscriberColumns.includes(name as Column) && !rejectedFileColumns.includes(name))
    if (unknown.length) throw new UsageError(`${file}: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} — the columns are ${subscriberColumns.join(', ')}`)
    const seen = new Set<string>()
    for (const name of names) {
      if (seen.has(name)) throw new UsageError(`${file}: column ${name} appears twice — keep one`)
      seen.add(name)
    }
    return names
  }
}

/** Language names a hand-made list may hold instead of a tag. */
const languageNames: Record<string, string> = {english: 'en', saesneg: 'en', welsh: 'cy', cymraeg: 'cy'}

/**
 * One row checked: the subscriber to upsert — with `dropped`, the fields left out because they
 * could not be used — or the reason it is rejected. A resident with a good e-mail address is
 * not dropped from every alert over a phone number or a language label that cannot be read.
 */
export function checkRow(row: Partial<Record<Column, string>>, list: string, defaultRegion?: string): (SubscriberInput & {dropped?: string[]}) | string {
  const field = (name: Column) => fromSpreadsheetSafe(row[name]?.trim() ?? '').trim() || null
  const email = field('email')
  const phone = field('phone')
  if (!email && !phone) return 'no e-mail address or phone number'
  const normalisedEmail = email ? normaliseEmail(email) : null
  const normalisedPhone = phone ? normalisePhone(phone, defaultRegion) : null
  const badEmail = email && !normalisedEmail ? `invalid e-mail address "${email}"` : undefined
  const badPhone = phone && !normalisedPhone ? `invalid phone number "${phone}"${defaultRegion || phone.trim().startsWith('+') || phone.trim().startsWith('00') ? '' : ' (numbers without +country need defaultRegion in config)'}` : undefined
  if (!normalisedEmail && !normalisedPhone) return [badEmail, badPhone].filter(Boolean).join('; ')
  const dropped: string[] = []
  if (badEmail) dropped.push(`without the e-mail address: ${badEmail}`)
  if (badPhone) dropped.push(`without the phone number: ${badPhone}`)
  let language = field('language')?.replace(/_/g, '-') ?? null
  if (language) language = languageNames[language.toLowerCase()] ?? language
  if (language && !/^[a-z]{2,3}(-[a-z0-9]{2,8})*$/i.test(language)) {
    dropped.push(`without the language: "${field('language')}" is not a language tag (e.g. en-GB, cy) — they get the first language until it is`)
    language = null
  }
  const lat = field('lat')
  const lon = field('lon')
  let latitude = lat === null ? null : decimalDegrees(lat)
  let longitude = lon === null ? null : decimalDegrees(lon)
  const badPlace =
    (lat === null) !== (lon === null)
      ? 'lat and lon must be given together'
      : latitude !== null && (!Number.isFinite(latitude) || Math.abs(latitude) > 90)
        ? `invalid latitude "${lat}"`
        : longitude !== null && (!Number.isFinite(longitude) || Math.abs(longitude) > 180)
          ? `invalid longitude "${lon}"`
          : undefined
  if (badPlace) {
    dropped.push(`without lat and lon: ${badPlace} — an alert targeted by area cannot place them`)
    latitude = null
    longitude = null
  }
  const tags = (field('tags') ?? '')
    .split(/[;|,]/)
    .map((tag) => tag.trim())
    .filter(Boolean)
  // Names reach e-mail headers and zones CAP geocodes: stored as they will be used, on one line.
  const plain = (name: Column) => publishableText(field(name) ?? '').replace(/\s+/g, ' ').trim() || null
  return {list, name: plain('name'), email: normalisedEmail ?? null, phone: normalisedPhone ?? null, language, lat: latitude, lon: longitude, zone: plain('zone'), tags, ...(dropped.length && {dropped})}
}

/** Why the file cannot be imported, as one line (exit 2), or undefined when it can be read. */
export function readableFile(file: string, error?: NodeJS.ErrnoException): UsageError | undefined {
  const code = error?.code ?? checkPath(file)
  if (!code) return undefined
  if (code === 'EISDIR') return new UsageError(`${file} is a directory — give a CSV file`)
  if (code === 'ENOENT') return new UsageError(`${file} does not exist — check the path`)
  if (code === 'EACCES' || code === 'EPERM') return new UsageError(`${file} cannot be read (permission denied) — check its permissions, or run as a user who may read it`)
  return new UsageError(`cannot read ${file} (${code}) — check the path`)
}

/**
 * Whether the rejected rows can go beside the input: not when it is a pipe, a FIFO or a device
 * (/dev/stdin, /dev/fd/63 from <(…)) — /dev/stdin.rejected.csv is no place for residents' rows,
 * and /dev/fd is not writable — so those go where `-`'s do, LIST.rejected.csv here.
 */
function hasFolderOfItsOwn(file: string): boolean {
  if (/^\/(dev|proc)\//.test(resolve(file))) return false
  try {
    return statSync(file).isFile()
  } catch {
    return false
  }
}

function checkPath(file: string): string | undefined {
  try {
    return statSync(file).isDirectory() ? 'EISDIR' : undefined
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'EIO'
  }
}

/**
 * Moves an earlier import's rejected file out of the way (to restore it if this import fails),
 * returning where; undefined when there is none. Not being allowed to is this import's failure.
 */
function moveAside(rejectedFile: string): string | undefined {
  if (!lstatSync(rejectedFile, {throwIfNoEntry: false})?.isFile()) return undefined
  const aside = `${rejectedFile}.${process.pid}.previous`
  try {
    renameSync(rejectedFile, aside)
  } catch (error) {
    const {code, message} = error as NodeJS.ErrnoException
    throw new RuntimeFailure(`cannot remove ${rejectedFile}, an earlier import's rejected rows (${code ?? message}) — nothing was imported; import from a folder you can write to`)
  }
  return aside
}

/**
 * Imports `path` into `list`; with `stdin` given, the CSV is read from it instead and `path` is
 * only its name in messages ("stdin"), its rejected rows going to LIST.rejected.csv here (as
 * those of a path that is not a regular file do).
 */
export async function importSubscribers(ctx: CoreContext, path: string, list: string, stdin?: Readable): Promise<ImportResult> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(list)) throw new UsageError(`--list "${list}" is not a list name — use letters, digits, - and _`)
  const defaultRegion = ctx.config.defaultRegion
  const file = stdin ? 'stdin' : path
  let input: Readable
  if (stdin) input = stdin
  else {
    // A directory opens fine and fails only at the first read, as an unexpected EISDIR.
    const unreadable = readableFile(file)
    if (unreadable) throw unreadable
    const stream = createReadStream(file)
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve())
      stream.once('error', (error: NodeJS.ErrnoException) => reject(readableFile(file, error)))
    })
    input = stream
  }
  // csv-parse never calls `columns` for a file with no line of text (empty, a BOM, blank lines).
  let headerSeen = false
  let headerFields = 0
  // Any line ending, even mixed: files pass through Excel, Notepad and scripts. `raw`: the text of
  // a row with the wrong number of fields goes to the rejected file whole.
  const parser = parse({
    columns: headerFor(file, (fields) => {
      headerSeen = true
      headerFields = fields
    }),
    bom: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    max_record_size: maxRecordBytes,
    skip_empty_lines: true,
    relax_column_count: true,
    info: true,
    raw: true,
    trim: false,
  })
  // pipeline destroys every stage on an error in any of them; iterating the parser surfaces it.
  pipeline(input, new StrictUtf8(file), parser, (error) => {
    if (error) parser.destroy(error)
  })
  const rows = parser

  const result: ImportResult = {list, imported: 0, inserted: 0, updated: 0, rejected: 0, partial: 0}
  const rejectedFile = rejectedFileFor(stdin || !hasFolderOfItsOwn(file) ? `${list}.csv` : file)
  // Rejects are written beside it and take its place only once the import is committed: a
  // failed import leaves the previous import's rejected file as it was.
  const rejectedPartial = temporaryBeside(rejectedFile)
  let rejects: {csv: ReturnType<typeof stringify>; out: WriteStream} | undefined
  /** Writes a row and why to the rejected file (a row imported without a field too), and counts it rejected unless `imported`. */
  const reject = (line: number, reason: string, record: Record<string, string>, imported = false) => {
    if (!rejects) {
      const out = createWriteStream(rejectedPartial, {flags: 'wx', mode: 0o600})
      // A write error (disk full, folder not writable) is reported by closeRejects, before the commit.
      out.on('error', () => undefined)
      const csv = stringify({header: true, columns: ['line', 'reason', ...subscriberColumns]})
      csv.pipe(out)
      rejects = {csv, out}
    }
    const cells = Object.entries({...record, reason}).filter(([key]) => key !== 'line').map(([key, value]) => [key, spreadsheetSafe(String(value ?? ''))])
    rejects.csv.write({line, ...Object.fromEntries(cells)})
    if (imported) result.partial++
    else result.rejected++
  }

  let rejectsClosed: Promise<void> | undefined
  const closeRejects = (): Promise<void> => {
    if (!rejects) return Promise.resolve()
    if (!rejectsClosed) {
      rejects.csv.end()
      rejectsClosed = finished(rejects.out)
    }
    return rejectsClosed
  }

  const store = ctx.store.subscribers
  const written = new LinesWritten()
  let previousRejects: string | undefined
  store.beginImport()
  try {
    const now = ctx.now()
    // csv-parse counts rows with the wrong number of fields cumulatively: a rise marks this one.
    let invalidSoFar = 0
    // It counts a CR LF inside a quoted field as two lines, and so every row after it one line on.
    let quotedCrLfsSoFar = 0
    for await (const {record, raw, info: {lines: endLine, invalid_field_length}} of rows as AsyncIterable<{record: Record<string, string>; raw: string; info: {lines: number; invalid_field_length: number}}>) {
      // The line the row starts on, where an editor finds it.
      const line = startLine(endLine, record) - quotedCrLfsSoFar
      quotedCrLfsSoFar += crLfsIn(record)
      if (invalid_field_length > invalidSoFar) {
        invalidSoFar = invalid_field_length
        reject(line, misfitReason(raw, headerFields), record)
        continue
      }
      const checked = checkRow(record, list, defaultRegion)
      if (typeof checked === 'string') {
        reject(line, checked, record)
        continue
      }
      // Looked at before anything is written, so nothing of a rejected row is applied.
      const match = store.matchContacts(checked)
      const earlier = earlierLineReason(match, written)
      if (earlier) {
        reject(line, earlier, record)
        continue
      }
      const {dropped, ...subscriber} = checked
      const {outcome, id} = store.upsertMatched(subscriber, match, now)
      if (outcome === 'conflict') reject(line, 'its e-mail and phone belong to two different subscribers', record)
      else {
        written.record(id!, line)
        result.imported++
        result[outcome]++
        if (dropped) reject(line, `imported ${dropped.join('; ')}`, record, true)
      }
    }
    if (!headerSeen) throw noHeader(file, ' (it is empty)')
    await closeRejects().catch((error: NodeJS.ErrnoException) => {
      throw new RuntimeFailure(`cannot write the rejected rows to ${rejectedFile} (${error.code ?? error.message}) — nothing was imported; import from a folder you can write to`)
    })
    // An earlier import's rejected rows, when this one has none, go aside before the commit: a
    // folder that will not let them go fails the import whole, not once its rows are in.
    if (!rejects) previousRejects = moveAside(rejectedFile)
    store.commitImport({list, inserted: result.inserted, updated: result.updated, rejected: result.rejected, file: basename(file)})
  } catch (error) {
    store.rollbackImport()
    await closeRejects().catch(() => undefined)
    rmSync(rejectedPartial, {force: true})
    if (previousRejects) renameSync(previousRejects, rejectedFile)
    const code = (error as {code?: string}).code
    if (error instanceof CsvError || (typeof code === 'string' && code.startsWith('CSV_'))) {
      throw new UsageError(`${file}: ${(error as Error).message} — fix the CSV; nothing was imported`)
    }
    if (error instanceof UsageError) throw new UsageError(`${error.message.replace(/ — /, ' — nothing was imported; ')}`)
    throw error
  }
  // The rejected file on disk always belongs to the latest import: replaced, or removed when this one rejected nothing.
  if (rejects) {
    renameSync(rejectedPartial, rejectedFile)
    result.rejectedFile = rejectedFile
  } else if (previousRejects) rmSync(previousRejects, {force: true})
  return result
}
