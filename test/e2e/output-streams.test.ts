import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {openStore} from '../../src/store/index.js'
import {crierBin, makeCrierHome, type CrierHome} from '../helpers/cli.js'

// What crier writes to stdout and stderr when whoever reads them stops early (`| head -1`) or
// cannot take it: the command still ends the way the README says. Build first (npm run build).

let home: CrierHome | undefined
afterEach(() => {
  home?.cleanup()
  home = undefined
})

/** Runs crier with stdout piped to a reader that closes the pipe after the first chunk, as `| head -1` does. */
function runReadingFirstChunk(h: CrierHome, args: string[]): Promise<{status: number | null; signal: NodeJS.Signals | null; stderr: string; firstChunk: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [crierBin, ...args], {env: h.env, stdio: ['ignore', 'pipe', 'pipe']})
    let firstChunk = ''
    let stderr = ''
    child.stdout.once('data', (chunk: Buffer) => {
      firstChunk = chunk.toString('utf8')
      child.stdout.destroy()
    })
    child.stderr.on('data', (chunk) => (stderr += chunk))
    child.on('error', reject)
    child.on('close', (status, signal) => resolve({status, signal, stderr, firstChunk}))
  })
}

/** A home whose audit trail and one subscriber list are each several megabytes: more than any pipe buffers. */
function bigHome(): CrierHome {
  const h = makeCrierHome()
  const store = openStore(join(h.home, 'crier.db'), {actor: 'pc.jones'})
  try {
    const db = store.db
    db.transaction(() => {
      const add = db.prepare(`INSERT INTO subscriber (list, name, email, created_at, updated_at) VALUES ('huge', ?, ?, 0, 0)`)
      for (let i = 0; i < 40_000; i++) add.run(`Resident number ${i} of the huge list`, `resident${i}@example.org`)
      for (let i = 0; i < 15_000; i++) store.audit.append({action: 'subscriber-opted-out', subject: `c${i}`, details: {how: `a test event long enough to fill a pipe quickly ${i}`}})
    })()
  } finally {
    store.close()
  }
  return h
}

describe('streamed output and a reader that stops early', () => {
  it.each([
    ['audit export', ['audit', 'export'], /^\{"seq":1,/],
    ['subscribers list --list', ['subscribers', 'list', '--list', 'huge'], /^1 +resident0@example.org /],
    ['subscribers list --list --json', ['subscribers', 'list', '--list', 'huge', '--json'], /^\[/],
  ])('%s exits 0 when the reader closes after the first chunk', async (_name, args, first) => {
    home ??= bigHome()
    const result = await runReadingFirstChunk(home, args)
    expect(result.firstChunk).toMatch(first)
    expect(result.stderr).toBe('')
    expect({status: result.status, signal: result.signal}).toEqual({status: 0, signal: null})
  })
})
