import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach} from 'vitest'

// A test file's crier homes and fake servers, closed after each test however it ended, newest
// first — instead of module-level variables that every file resets by hand.

/** What a test opens and must close: a crier home (cleanup) or a server (close). */
type Opened = {cleanup(): void} | {close(): Promise<void> | void}

/** Call at the top of a test file: returns `opened`, which registers a home or a fake and hands it back. */
export function closedAfterEach(): <T extends Opened>(thing: T) => T {
  const open: Opened[] = []
  afterEach(async () => {
    for (const thing of open.splice(0).reverse()) await ('cleanup' in thing ? thing.cleanup() : thing.close())
  })
  return (thing) => {
    open.push(thing)
    return thing
  }
}

/** Call at the top of a test file: returns `tempDir`, which makes a directory under the OS temp dir that is removed after each test. */
export function tempDirsAfterEach(): (prefix: string) => string {
  const opened = closedAfterEach()
  return (prefix) => {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    opened({cleanup: () => rmSync(dir, {recursive: true, force: true})})
    return dir
  }
}
