import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {openStore, type Store} from '../../src/store/index.js'
import {sayWhenWaiting} from '../../src/store/write-lock.js'

let dir: string
let path: string
let store: Store

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'crier-write-lock-'))
  path = join(dir, 'crier.db')
  store = openStore(path, {actor: 'pc.jones'})
})

afterEach(() => {
  store.close()
  rmSync(dir, {recursive: true, force: true})
})

/**
 * Another process takes the write lock, says so on stdout, and lets it go `holdMs` later: the
 * wait has to happen in another process, since this one's write blocks its own thread.
 */
async function holdLockElsewhere(holdMs: number): Promise<{released: Promise<number | null>}> {
  const script = `
    const db = new (require('better-sqlite3'))(process.argv[1], {timeout: 5000})
    db.prepare('BEGIN IMMEDIATE').run()
    process.stdout.write('locked\\n')
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.argv[2]))
    db.prepare('COMMIT').run()
    db.close()`
  const child = spawn(process.execPath, ['-e', script, path, String(holdMs)], {cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit']})
  const released = new Promise<number | null>((resolve) => child.once('close', resolve))
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (text: string) => text.includes('locked') && resolve())
    child.once('close', (code) => reject(new Error(`the lock holder exited (${code}) before taking the lock`)))
  })
  return {released}
}

const optOut = (contact: string) => store.transaction(() => store.subscribers.optOut(contact, 'command', Date.now()))

describe("an officer's write behind another process's lock", () => {
  it("waits out a sender's commit without a word", async () => {
    // A line about waiting, each time a command lands behind one of crier run's commits, would only alarm.
    let said = 0
    sayWhenWaiting(store.db, 30_000, () => said++)
    const holder = await holdLockElsewhere(150)
    const started = performance.now()
    optOut('quiet@example.org')
    expect(performance.now() - started).toBeGreaterThanOrEqual(100)
    expect(said).toBe(0)
    expect(await holder.released).toBe(0)
    expect(store.subscribers.isOptedOut('quiet@example.org')).toBe(true)
  })

  it('says once that it waits when the lock is held past the quiet moment, then writes when it is let go', async () => {
    let said = 0
    sayWhenWaiting(store.db, 30_000, () => said++)
    const holder = await holdLockElsewhere(1600)
    optOut('patient@example.org')
    expect(said).toBe(1)
    expect(await holder.released).toBe(0)
    expect(store.subscribers.isOptedOut('patient@example.org')).toBe(true)
  })
})
