import {setTimeout as sleep} from 'node:timers/promises'
import pty from 'node-pty'
import {afterEach, describe, expect, it} from 'vitest'
import {explain} from '../helpers/cli-assertions.js'
import {crierBin, jsonOf, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {startGatedFake, type GatedFake} from '../helpers/gated-fake.js'
import {importRecorder, loadedPackage} from '../helpers/pty.js'
import {killSpawned, spawnCrier, waitFor} from '../helpers/spawn-crier.js'

// Off a terminal (a pipe, a log, cron) or with --json: never Ink, never React; a plain progress
// line on stderr while something changes (none with --quiet); the result on stdout. Which
// modules the process loaded is recorded by a loader hook (node --import), not guessed.

let home: CrierHome | undefined
let fake: GatedFake | undefined
const cleanups: Array<() => void> = []
afterEach(async () => {
  await killSpawned()
  await fake?.close()
  fake = undefined
  home?.cleanup()
  home = undefined
  for (const cleanup of cleanups.splice(0)) cleanup()
})

function webhookHome(url: string): {h: CrierHome; id: string} {
  const h = makeCrierHome()
  h.writeConfig(`channels:
  partners: {type: webhook, url: "${url}/hooks/partners"}
  website: {type: feed, dir: ./public}
`)
  const draft = jsonOf(h.run(['draft', 'Boil water notice for Conwy.', '--severity', 'Minor', '--channel', 'partners,website', '--json']))
  return {h, id: draft.id as string}
}

const okPlan = (request: {index: number}) => ({status: 200, headers: {'Content-Type': 'application/json'}, body: JSON.stringify({id: `hook-${request.index}`})})
const progressPattern = /^\d+:\d\d [0-9A-Z]{12} partners sent [01]\/1; website sent 1\/1$/

describe('crier broadcast off a terminal', () => {
  it('loads neither Ink nor React; a progress line on stderr while it waits; the summary on stdout', async () => {
    fake = await startGatedFake(okPlan)
    const {h, id} = webhookHome(fake.url)
    home = h
    const imports = importRecorder()
    cleanups.push(imports.cleanup)
    const run = spawnCrier(h, ['broadcast', id], imports.nodeArgs)
    await waitFor('a progress line', () => /partners sent 0\/1; website sent 1\/1\n/.test(run.stderr()))
    fake.open()
    const status = (await run.exit).code
    expect(status, explain({status, stdout: run.stdout(), stderr: run.stderr()})).toBe(0)
    expect(run.stdout()).toMatch(/^partners +sent 1\/1$/m)
    expect(run.stdout()).toMatch(/^website +sent 1\/1$/m)
    const lines = run.stderr().split('\n').filter(Boolean)
    for (const line of lines) expect(line).toMatch(progressPattern)
    // A line only when something changed.
    expect(new Set(lines.map((line) => line.replace(/^\S+ /, ''))).size).toBe(lines.length)

    const loaded = imports.loaded()
    // The hook saw the command load, and a package from node_modules (so an empty list cannot
    // pass; oclif and most packages are bundled into dist/src by the build, better-sqlite3 is not) …
    expect(loadedPackage(loaded, 'better-sqlite3')).toBe(true)
    expect(loaded.some((url) => url.endsWith('/dist/src/commands/broadcast.js'))).toBe(true)
    // … and nothing of the live view's.
    expect(loadedPackage(loaded, 'ink')).toBe(false)
    expect(loadedPackage(loaded, 'react')).toBe(false)
    expect(loadedPackage(loaded, 'yoga-layout')).toBe(false)
    expect(loaded.some((url) => /\/dist\/src\/views\/live\/(session|ink-app)\.js$/.test(url))).toBe(false)
  })

  it('--json: one JSON document on stdout, progress on stderr, still no Ink', async () => {
    fake = await startGatedFake(okPlan)
    const {h, id} = webhookHome(fake.url)
    home = h
    const imports = importRecorder()
    cleanups.push(imports.cleanup)
    const run = spawnCrier(h, ['broadcast', id, '--json'], imports.nodeArgs)
    await waitFor('a progress line', () => /partners sent 0\/1/.test(run.stderr()))
    fake.open()
    expect((await run.exit).code).toBe(0)
    const document = JSON.parse(run.stdout())
    expect(document.channels.map((c: {channel: string; sent: number}) => [c.channel, c.sent])).toEqual([
      ['partners', 1],
      ['website', 1],
    ])
    for (const line of run.stderr().split('\n').filter(Boolean)) expect(line).toMatch(progressPattern)
    expect(loadedPackage(imports.loaded(), 'ink')).toBe(false)
    expect(loadedPackage(imports.loaded(), 'react')).toBe(false)
  })

  it('--quiet: nothing on stderr however long it waits', async () => {
    fake = await startGatedFake(okPlan)
    const {h, id} = webhookHome(fake.url)
    home = h
    const run = spawnCrier(h, ['broadcast', id, '--quiet'])
    await waitFor('the send to reach the fake', () => fake!.held() === 1)
    // Long enough for a progress line to have been due twice over.
    await sleep(2500)
    fake.open()
    expect((await run.exit).code).toBe(0)
    expect(run.stderr()).toBe('')
    expect(run.stdout()).toMatch(/^partners +sent 1\/1$/m)
  })
})

describe('crier status ID --watch off a terminal', () => {
  it('follows a broadcast crier run is sending until every delivery is final, without Ink, then prints the result', async () => {
    fake = await startGatedFake(okPlan)
    const {h, id} = webhookHome(fake.url)
    home = h
    expect(h.run(['broadcast', id, '--no-wait']).status).toBe(0)
    const sender = spawnCrier(h, ['run'])
    await waitFor('crier run to be sending', () => fake!.held() === 1)
    const imports = importRecorder()
    cleanups.push(imports.cleanup)
    const watch = spawnCrier(h, ['status', id, '--watch'], imports.nodeArgs)
    await waitFor('a progress line', () => /partners sent 0\/1; website sent 1\/1\n/.test(watch.stderr()))
    fake.open()
    expect((await sender.exit).code).toBe(0)
    const status = (await watch.exit).code
    expect(status, explain({status, stdout: watch.stdout(), stderr: watch.stderr()})).toBe(0)
    expect(watch.stdout()).toMatch(/^[0-9A-Z]{12} {2}sent +Minor/m)
    expect(watch.stdout()).toMatch(/^partners +sent 1\/1$/m)
    for (const line of watch.stderr().split('\n').filter(Boolean)) expect(line).toMatch(progressPattern)
    expect(loadedPackage(imports.loaded(), 'ink')).toBe(false)
    expect(loadedPackage(imports.loaded(), 'react')).toBe(false)
  })

  it('run in the background of a terminal (timeout without --foreground), it sends with plain lines instead of stopping on raw mode', async () => {
    fake = await startGatedFake(okPlan)
    fake.open()
    const {h, id} = webhookHome(fake.url)
    home = h
    // timeout puts the command in a process group of its own, not the terminal's foreground one.
    const shell = pty.spawn('sh', ['-c', `timeout 60 "${process.execPath}" "${crierBin}" broadcast ${id}`], {cols: 80, rows: 24, env: {...h.env, TERM: 'xterm-256color'} as Record<string, string>})
    let output = ''
    shell.onData((data) => (output += data))
    const {exitCode} = await new Promise<{exitCode: number}>((resolve) => shell.onExit(resolve))
    expect(exitCode, output).toBe(0)
    // No live view: no cursor hiding, no redraws; the summary as off a terminal.
    expect(output).not.toContain('\u001b[?25l')
    expect(output).toMatch(/^partners +sent 1\/1\r?$/m)
    expect(fake.requests.length).toBe(1)
  })

  it('--watch without an ID is a usage error', () => {
    home = makeCrierHome()
    const result = home.run(['status', '--watch'])
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(/^Error: --watch follows one announcement — crier status ID --watch\n$/)
  })
})
