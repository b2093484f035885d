import {fstatSync, openSync, readSync, closeSync} from 'node:fs'
import {checkAnnouncementText, maxTextBytes} from '../core/text-input.js'
import {UsageError} from '../core/errors.js'

/** True when stdin is a pipe, a socket (Node's child_process pipes are) or a redirected file: not a terminal, not /dev/null. */
export function stdinIsPiped(): boolean {
  try {
    const stat = fstatSync(0)
    return stat.isFIFO() || stat.isFile() || stat.isSocket()
  } catch {
    return false
  }
}

/** Slept on while a non-blocking stdin has nothing yet. */
const nothingYet = new Int32Array(new SharedArrayBuffer(4))

/** Reads at most 1 MiB + 1 byte from a file descriptor, so an endless pipe cannot fill memory; `read` is readSync but in tests. */
export function readBounded(fd: number, read: typeof readSync = readSync): Buffer {
  const chunks: Buffer[] = []
  let total = 0
  const chunk = Buffer.alloc(65536)
  for (;;) {
    let n: number
    try {
      n = read(fd, chunk, 0, chunk.length, null)
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'EAGAIN') {
        // A stdin left non-blocking (by the parent, or by Node) with nothing to read yet: wait a
        // moment, rather than spin a core for as long as the writer takes.
        Atomics.wait(nothingYet, 0, 0, 10)
        continue
      }
      if (code === 'EOF') break
      throw error
    }
    if (n === 0) break
    chunks.push(Buffer.from(chunk.subarray(0, n)))
    total += n
    if (total > maxTextBytes) break
  }
  return Buffer.concat(chunks)
}

export function readStdinText(): string {
  try {
    return checkAnnouncementText(readBounded(0), 'stdin')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw new UsageError('stdin is a directory — pipe or redirect the file with the text (crier draft - < text.txt)')
    throw error
  }
}

export function readFileText(path: string): string {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (error) {
    throw new UsageError(`cannot read --file ${path} (${(error as NodeJS.ErrnoException).code}) — check the path`)
  }
  try {
    return checkAnnouncementText(readBounded(fd), `--file ${path}`)
  } catch (error) {
    // Opening a directory succeeds on Linux; reading it is what fails.
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw new UsageError(`--file ${path} is a directory — give the file with the text`)
    throw error
  } finally {
    closeSync(fd)
  }
}

/**
 * How long text piped without `-` has to start arriving. A script's stdin is often a pipe that
 * is never written to nor closed (a spawned child's, ssh without -n): waiting for its end would
 * hang the script for good. `-` says the text is coming, and is waited for.
 */
const silentPipeMs = 2000

/** The announcement text from an argument, `-` (stdin), --file, or piped stdin; undefined when none was given. */
export async function givenAnnouncementText(arg: string | undefined, file: string | undefined, options: {emptyPipeIsNone?: boolean} = {}): Promise<string | undefined> {
  if (arg !== undefined && file !== undefined) throw new UsageError('give the text as an argument or with --file, not both')
  if (file !== undefined) return readFileText(file)
  if (arg === '-') return readStdinText()
  if (arg !== undefined) return checkAnnouncementText(Buffer.from(arg, 'utf8'), 'the text')
  if (!stdinIsPiped()) return undefined
  const bytes = await readPipeUnlessSilent(silentPipeMs)
  if (bytes === undefined) {
    if (options.emptyPipeIsNone) return undefined
    throw new UsageError(`stdin is open but no text came within ${silentPipeMs / 1000} s — give the text as an argument or with --file, or pipe it with - (crier draft - waits for it)`)
  }
  // A cron job's or a script's stdin is often an empty pipe: with a template's text to fall back
  // on, nothing piped means nothing given.
  if (options.emptyPipeIsNone && bytes.toString('utf8').trim() === '') return undefined
  return checkAnnouncementText(bytes, 'stdin')
}

/** Piped stdin up to its end (at most 1 MiB + 1 byte), or undefined when nothing arrives within `waitMs` and it stays open. */
function readPipeUnlessSilent(waitMs: number): Promise<Buffer | undefined> {
  const stdin = process.stdin
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let total = 0
    const finish = (result: Buffer | undefined) => {
      clearTimeout(silence)
      stdin.off('data', onData).off('end', onEnd).off('error', onError)
      // Let go of a pipe left open, or it would keep the process alive.
      if (result === undefined || total > maxTextBytes) stdin.destroy()
      else stdin.pause()
      resolve(result)
    }
    const onData = (chunk: Buffer) => {
      clearTimeout(silence)
      chunks.push(chunk)
      total += chunk.length
      if (total > maxTextBytes) finish(Buffer.concat(chunks))
    }
    const onEnd = () => finish(Buffer.concat(chunks))
    const onError = (error: Error) => {
      clearTimeout(silence)
      reject(error)
    }
    const silence = setTimeout(() => finish(undefined), waitMs)
    stdin.on('data', onData).on('end', onEnd).on('error', onError)
  })
}

/** As givenAnnouncementText, but exit 2 when there is none: the non-interactive contract. */
export async function announcementText(arg: string | undefined, file: string | undefined): Promise<string> {
  const text = await givenAnnouncementText(arg, file)
  if (text === undefined) throw new UsageError('no announcement text — give it as an argument, with --file, or on stdin (-)')
  return text
}
