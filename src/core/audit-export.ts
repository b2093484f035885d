import {closeSync, fchmodSync, lstatSync, openSync, renameSync, rmSync, writeSync} from 'node:fs'
import {exportLine} from '../store/audit.js'
import type {Store} from '../store/index.js'
import {UsageError} from './errors.js'
import {streamWriter} from './stream-writer.js'
import {temporaryBeside} from './temporary-file.js'

// `crier audit export`: the whole chain as JSON lines, streamed (a million rows never sit in
// memory). A file is written beside its target and renamed into place, so a failed export
// never leaves half a chain that looks whole.

const chunkBytes = 1 << 20

export interface ExportResult {
  events: number
  /** The last row's hash: the value to keep elsewhere to notice a rewritten chain later. */
  headHash: string | null
}

export async function writeAuditExport(store: Store, file?: string): Promise<ExportResult> {
  return file === undefined ? writeToStdout(store) : writeToFile(store, file)
}

/**
 * The export is renamed over its target, which would replace a symlink, a FIFO or a device
 * (--output /dev/stdout) with a plain file and report success: only a regular file or a new
 * path is written.
 */
function refuseIrregularTarget(file: string): void {
  let node
  try {
    node = lstatSync(file, {throwIfNoEntry: false})
  } catch {
    return // ENOTDIR, EACCES…: opening the file beside it says so
  }
  if (!node || node.isFile()) return
  if (node.isDirectory()) throw new UsageError(`--output ${file} is a directory — give a file name in it, e.g. ${file.replace(/\/+$/, '')}/audit.jsonl`)
  const kind = node.isSymbolicLink() ? 'a symlink' : node.isFIFO() ? 'a FIFO' : node.isSocket() ? 'a socket' : 'a device'
  throw new UsageError(`--output ${file} is not a regular file (${kind}) — name a file, or leave out --output to write to stdout`)
}

function writeToFile(store: Store, file: string): ExportResult {
  refuseIrregularTarget(file)
  const partial = temporaryBeside(file)
  let fd: number
  try {
    fd = openSync(partial, 'wx', 0o600)
  } catch (error) {
    throw new UsageError(`cannot write ${file} (${(error as NodeJS.ErrnoException).code}) — check the directory exists and is writable`)
  }
  let result: ExportResult = {events: 0, headHash: null}
  try {
    fchmodSync(fd, 0o600) // under any umask
    let buffer = ''
    for (const event of store.audit.rows()) {
      buffer += exportLine(event) + '\n'
      result = {events: result.events + 1, headHash: event.hash}
      if (buffer.length >= chunkBytes) {
        writeSync(fd, buffer)
        buffer = ''
      }
    }
    if (buffer) writeSync(fd, buffer)
    closeSync(fd)
    // Again: something may have been put there while the chain was written.
    refuseIrregularTarget(file)
    renameSync(partial, file)
  } catch (error) {
    try {
      closeSync(fd)
    } catch {
      // already closed
    }
    rmSync(partial, {force: true})
    throw error
  }
  return result
}

async function writeToStdout(store: Store): Promise<ExportResult> {
  const write = streamWriter(process.stdout)
  let result: ExportResult = {events: 0, headHash: null}
  let buffer = ''
  for (const event of store.audit.rows()) {
    buffer += exportLine(event) + '\n'
    result = {events: result.events + 1, headHash: event.hash}
    if (buffer.length >= chunkBytes) {
      // A reader that stopped (| head) has what it wanted.
      if (!(await write(buffer))) return result
      buffer = ''
    }
  }
  if (buffer) await write(buffer)
  return result
}
