import {spawn, type StdioOptions} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {openStore} from '../../src/store/index.js'
import {startProviderFake} from '../fakes/provider-server.js'
import {crierBin, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {closedAfterEach} from '../helpers/closed-after-each.js'

// What crier writes to stdout and stderr when whoever reads them stops early (`| head -1`) or
// cannot take it: the command still ends the way the README says. Build first (npm run build).

const opened = closedAfterEach()

/**
 * Runs crier with stdout or stderr on /dev/full, where every write fails with ENOSPC as on a full
 * disk (the device is only opened for writing, as a shell's redirect opens it); the other one is collected.
 */
function runIntoFullDevice(h: CrierHome, args: string[], full: 'stdout' | 'stderr'): Promise<{status: number | null; output: string}> {
  const device = openSync('/dev/full', 'w')
  const stdio: StdioOptions = full === 'stdout' ? ['ignore', device, 'pipe'] : ['ignore', 'pipe', device]
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [crierBin, ...args], {env: h.env, stdio})
    closeSync(device)
    let output = ''
    ;(full === 'stdout' ? child.stderr! : child.stdout!).on('data', (chunk) => (output += chunk))
    child.on('error', reject)
    child.on('close', (status) => resolve({status, output}))
  })
}

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
    const home = opened(bigHome())
    const result = await runReadingFirstChunk(home, args)
    expect(result.firstChunk).toMatch(first)
    expect(result.stderr).toBe('')
    expect({status: result.status, signal: result.signal}).toEqual({status: 0, signal: null})
  })
})

describe('stdout or stderr that cannot be written (ENOSPC)', () => {
  it.each([[['list']], [['list', '--json']], [['--help']]])('crier %j > /dev/full: exit 1 and one line saying so, no stack trace', async (args) => {
    const home = opened(makeCrierHome())
    const result = await runIntoFullDevice(home, args, 'stdout')
    expect(result.output).toBe('Error: cannot write to stdout (ENOSPC) — the output is incomplete; make room there, or send it elsewhere\n')
    expect(result.status).toBe(1)
  })

  it('crier run 2>/dev/full finishes its pass: every result recorded, its usual exit code', async () => {
    // One delivery ends dead at once (its stderr line fails mid-pass), the other is still on the wire.
    const fake = opened(await startProviderFake({plan: (request) => (request.path === '/refuses' ? {status: 400, body: 'no'} : {status: 200, delayMs: 1000})}))
    const home = opened(makeCrierHome())
    home.writeConfig(`channels:\n  refuses: {type: webhook, url: "${fake.url}/refuses"}\n  slow: {type: webhook, url: "${fake.url}/slow"}\n`)
    expect(home.run(['broadcast', '-', '--severity', 'Minor', '--channel', 'refuses,slow', '--no-wait'], {input: 'Road closed at J11.'}).status).toBe(0)
    const run = await runIntoFullDevice(home, ['run'], 'stderr')
    expect(run.status).toBe(4)
    expect(run.output).toBe('')
    const db = home.db()
    try {
      expect(db.prepare('SELECT channel, state FROM delivery ORDER BY channel').all()).toEqual([
        {channel: 'refuses', state: 'dead'},
        {channel: 'slow', state: 'sent'},
      ])
    } finally {
      db.close()
    }
  })

  it('crier run --verbose >/dev/full keeps its exit code and says on stderr what was dropped', async () => {
    const home = opened(makeCrierHome())
    const run = await runIntoFullDevice(home, ['run', '--verbose'], 'stdout')
    expect(run.output).toBe("crier: cannot write to stdout (ENOSPC): what it could not take was dropped; the deliveries' results are recorded — see crier status\n")
    expect(run.status).toBe(0)
  })
})
