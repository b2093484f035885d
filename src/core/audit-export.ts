import {closeSync, existsSync, fchmodSync, openSync, renameSync, rmSync, statSync, writeSync} from 'node:fs'
import {exportLine} from '../store/audit.js'
import type {Store} from '../store/index.js'
import {UsageError} from './errors.js'

// `crier audit export`: the whole chain as JSON lines, streamed (a million rows never sit in
// memory). A file is written beside its target and renamed into place, so a failed export
// never leaves half a chain that looks whole.

const chunkBytes = 1 << 20

export interface ExportResult {
  events: number
  /** The last row's hash: the value to keep elsewhere to notice a rewritten chain later. */
  lastHash: string | null
}

export async function writeAuditExport(store: Store, file?: string): Promise<ExportResult> {
  return file === undefined ? writeToStdout(store) : writeToFile(store, file)
}

function writeToFile(store: Store, file: string): ExportResult {
  if (existsSync(file) && statSync(file).isDirectory()) throw new UsageError(`--output ${file} is a directory — give a file name in it, e.g. ${file.replace(/\/+$/, '')}/audit.jsonl`)
  const partial = `${file}.partial-${process.pid}`
  let fd: number
  try {
    fd = openSync(partial, 'w', 0o600)
  } catch (error) {
    throw new UsageError(`cannot write ${file} (${(error as NodeJS.ErrnoException).code}) — check the directory exists and is writable`)
  }
  let result: ExportResult = {events: 0, lastHash: null}
  try {
    fchmodSync(fd, 0o600) // under any umask
    let buffer = ''
    for (const event of store.audit.rows()) {
      buffer += exportLine(event) + '\n'
      result = {events: result.events + 1, lastHash: event.hash}
      if (buffer.length >= chunkBytes) {
        writeSync(fd, buffer)
        buffer = ''
      }
    }
    if (buffer) writeSync(fd, buffer)
    closeSync(fd)
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
  const out = process.stdout
  const write = async (text: string) => {
    if (!out.write(text)) await new Promise((resolve) => out.once('drain', resolve))
  }
  let result: ExportResult = {events: 0, lastHash: null}
  let buffer = ''
  for (const event of store.audit.rows()) {
    buffer += exportLine(event) + '\n'
    result = {events: result.events + 1, lastHash: event.hash}
    if (buffer.length >= chunkBytes) {
      await write(buffer)
      buffer = ''
    }
  }
  if (buffer) await write(buffer)
  return result
}
