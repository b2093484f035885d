import {readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {alwaysOk, startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {explain} from '../helpers/cli-assertions.js'
import {makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {jsonLines, killSpawned, spawnCrier, waitFor, type SpawnedCrier} from '../helpers/spawn-crier.js'

// A long-running worker and its config: an officer fixing a channel's settings edits
// config.yaml, and the worker goes on with the edit — no restart, nothing lost or sent twice.
// An edit that does not load (half-saved, a typo) leaves the config in force running.

let home: CrierHome | undefined
const fakes: ProviderFake[] = []
afterEach(async () => {
  await killSpawned()
  for (const fake of fakes.splice(0)) await fake.close()
  home?.cleanup()
  home = undefined
})

async function fake(): Promise<ProviderFake> {
  const started = await startProviderFake({plan: alwaysOk()})
  fakes.push(started)
  return started
}

function partnersAt(url: string, extra = ''): string {
  return `channels:\n  partners: {type: webhook, url: "${url}/hooks/alerts", retryBase: 20ms, retryCap: 200ms, timeout: 5s${extra}}\n`
}

function queue(h: CrierHome, text: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): void {
  const result = h.run(['broadcast', '-', '--severity', 'Minor', '--channel', 'partners', '--no-wait', ...args], {input: text, env})
  expect(result.status, explain(result)).toBe(0)
}

function events(worker: SpawnedCrier): string[] {
  return jsonLines(worker.stdout()).map((line) => line.event as string)
}

async function startWorker(h: CrierHome, env: NodeJS.ProcessEnv = {}): Promise<SpawnedCrier> {
  const worker = spawnCrier({...h, env: {...h.env, ...env}}, ['worker', '--json'])
  await waitFor('the worker to start', () => events(worker).includes('started'), 20_000)
  return worker
}

describe('crier worker picks up an edited config', () => {
  it('goes on with the new settings once the file changes; an edit that does not load changes nothing', async () => {
    const [first, second] = [await fake(), await fake()]
    home = makeCrierHome()
    const goodConfig = home.writeConfig(partnersAt(first.url))
    const worker = await startWorker(home)
    queue(home, 'Road reopened at Junction 11.')
    await waitFor('the first announcement at the first endpoint', () => first.requests.length === 1)

    // Half-saved: the worker says so and keeps the config it has.
    writeFileSync(goodConfig, 'channels:\n  partners: {type: webhook, url: ["')
    await waitFor('the worker to refuse the broken edit', () => events(worker).includes('config-invalid'), 30_000)
    const invalid = jsonLines(worker.stdout()).find((line) => line.event === 'config-invalid')!
    expect(invalid.problem).toMatch(/config\.yaml/)
    // Work queued meanwhile (by a command given a copy of the good file) still goes where it went.
    const copy = join(home.home, 'copy.yaml')
    writeFileSync(copy, partnersAt(first.url))
    queue(home, 'Road reopened at Junction 12.', ['--config', copy])
    await waitFor('the second announcement at the first endpoint', () => first.requests.length === 2)

    // Fixed, pointing elsewhere: reloaded, and what comes next goes there.
    writeFileSync(goodConfig, partnersAt(second.url))
    await waitFor('the worker to reload', () => events(worker).includes('config-reloaded'), 30_000)
    queue(home, 'Road reopened at Junction 13.')
    await waitFor('the third announcement at the second endpoint', () => second.requests.length === 1)

    worker.child.kill('SIGTERM')
    expect((await worker.exit).code).toBe(0)
    expect(worker.stderr()).toBe('')
    expect(first.requests.length).toBe(2)
    expect(second.requests.length).toBe(1)
    expect(JSON.parse(second.requests[0]!.body).headline).toBe('Road reopened at Junction 13.')
    expect(events(worker)).toEqual(['started', 'delivery-sent', 'config-invalid', 'delivery-sent', 'config-reloaded', 'delivery-sent', 'stopping', 'stopped'])
    // The audit trail has the new config's load.
    const audit = home.run(['audit', '--json'])
    const loads = (JSON.parse(audit.stdout) as {events: Array<{action: string; details: unknown}>}).events.filter((event) => event.action === 'config-loaded')
    expect(loads.map((event) => (event.details as {sha256: string}).sha256)).toEqual([expect.any(String), expect.any(String)])
    expect(new Set(loads.map((event) => JSON.stringify(event.details))).size).toBe(2)
  })

  it('a config file removed, emptied or left without channels while it runs is refused: the channels in force keep sending', async () => {
    const endpoint = await fake()
    home = makeCrierHome()
    const configFile = home.writeConfig(partnersAt(endpoint.url))
    const copy = join(home.home, 'copy.yaml')
    writeFileSync(copy, partnersAt(endpoint.url))
    const worker = await startWorker(home)
    const invalid = () => jsonLines(worker.stdout()).filter((line) => line.event === 'config-invalid').map((line) => line.problem as string)

    rmSync(configFile)
    await waitFor('the worker to refuse the missing file', () => invalid().length === 1, 30_000)
    expect(invalid()[0]).toMatch(/config\.yaml is gone — put it back/)
    queue(home, 'Road reopened at Junction 14.', ['--config', copy])
    await waitFor('the announcement at the endpoint', () => endpoint.requests.length === 1)

    writeFileSync(configFile, '')
    await waitFor('the worker to refuse the empty file', () => invalid().length === 2, 30_000)
    expect(invalid()[1]).toMatch(/config\.yaml: the file is empty — write its settings/)
    queue(home, 'Road reopened at Junction 15.', ['--config', copy])
    await waitFor('the second announcement at the endpoint', () => endpoint.requests.length === 2)

    writeFileSync(configFile, 'timezone: Europe/London\n')
    // A poll may catch the file between this write's truncation and its text, and refuse it as
    // empty once more first: what counts is that the file without channels is refused in turn.
    await waitFor('the worker to refuse a file without channels', () => invalid().slice(2).some((problem) => /config\.yaml declares no channels$/.test(problem)), 30_000)
    expect(invalid().slice(2).every((problem) => /the file is empty|declares no channels$/.test(problem))).toBe(true)
    worker.child.kill('SIGTERM')
    expect((await worker.exit).code).toBe(0)
    expect(events(worker)).not.toContain('config-reloaded')
  })

  it('a channel left out for a missing secret sends what waited for it once the config is fixed, and SIGHUP reloads on demand', async () => {
    const endpoint = await fake()
    home = makeCrierHome()
    home.writeConfig(partnersAt(endpoint.url, ', headers: {Authorization: "Bearer ${PARTNERS_TOKEN}"}'))
    // The officer's shell has the variable; the worker's service environment does not.
    const worker = await startWorker(home)
    // Logged just after `started`: under load the two lines may arrive in separate reads.
    await waitFor('the worker to say what it left out', () => events(worker).includes('channel-left-out'), 30_000)
    expect(jsonLines(worker.stdout()).find((line) => line.event === 'channel-left-out')).toMatchObject({channel: 'partners', problem: expect.stringMatching(/PARTNERS_TOKEN is not set/)})
    queue(home, 'Boil water notice for Conwy.', [], {PARTNERS_TOKEN: 'from-the-shell'})
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(endpoint.requests.length).toBe(0)

    // SIGHUP with nothing changed: reloaded (it is what the operator asked), still left out.
    worker.child.kill('SIGHUP')
    await waitFor('the worker to reload on SIGHUP', () => events(worker).includes('config-reloaded'), 30_000)
    expect(jsonLines(worker.stdout()).find((line) => line.event === 'config-reloaded')).toMatchObject({trigger: 'SIGHUP'})
    expect(events(worker).filter((event) => event === 'channel-left-out').length).toBe(2)
    expect(endpoint.requests.length).toBe(0)

    home.writeConfig(partnersAt(endpoint.url, ', headers: {Authorization: "Bearer written-in"}'))
    await waitFor('the waiting announcement to arrive', () => endpoint.requests.length === 1, 30_000)
    expect(endpoint.requests[0]!.headers.authorization).toBe('Bearer written-in')
    worker.child.kill('SIGTERM')
    expect((await worker.exit).code).toBe(0)
    expect(worker.stdout()).not.toContain('from-the-shell')
    expect(events(worker).filter((event) => event === 'delivery-sent').length).toBe(1)
  })

  it('a SIGHUP while it is still starting does not end it: it starts, and goes on with the config on disk', async () => {
    const endpoint = await fake()
    home = makeCrierHome()
    home.writeConfig(partnersAt(endpoint.url))
    const worker = spawnCrier(home, ['worker', '--json'])
    // The moment its SIGHUP handler is in place (Linux: the caught-signals mask), long before
    // it has loaded its config and started, the hang-up is sent.
    const sigHupCaught = () => {
      try {
        const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${worker.child.pid}/status`, 'utf8'))?.[1]
        return mask !== undefined && (BigInt(`0x${mask}`) & 1n) === 1n
      } catch {
        return false
      }
    }
    await waitFor('the worker to catch SIGHUP', sigHupCaught, 20_000)
    expect(events(worker)).not.toContain('started')
    worker.child.kill('SIGHUP')
    await waitFor('the worker to start', () => events(worker).includes('started'), 20_000)
    queue(home, 'Boil water notice for Conwy.')
    await waitFor('the announcement to arrive', () => endpoint.requests.length === 1, 30_000)
    worker.child.kill('SIGTERM')
    expect((await worker.exit).code).toBe(0)
  })
})

describe('crier worker and a database another crier holds', () => {
  it('waits it out and goes on (database-busy), rather than exiting', async () => {
    const endpoint = await fake()
    home = makeCrierHome()
    home.writeConfig(partnersAt(endpoint.url))
    const drafted = home.run(['draft', 'Bins are collected on Tuesday.', '--severity', 'Minor', '--channel', 'partners', '--json'])
    expect(drafted.status, explain(drafted)).toBe(0)
    const id = JSON.parse(drafted.stdout).id as string
    const dueAt = Date.now() + 3000
    expect(home.run(['schedule', id, '--at', new Date(dueAt).toISOString()]).status).toBe(0)
    // A short busy timeout stands in for a long import outlasting the usual 30 s.
    const worker = await startWorker(home, {CRIER_BUSY_TIMEOUT_MS: '200'})
    const db = home.db()
    try {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, dueAt - 500 - Date.now())))
      db.exec('BEGIN IMMEDIATE')
      await waitFor('the worker to find the database locked', () => events(worker).includes('database-busy'), 30_000)
      db.exec('COMMIT')
    } finally {
      if (db.inTransaction) db.exec('ROLLBACK')
      db.close()
    }
    await waitFor('the schedule to fire once the database is free', () => endpoint.requests.length === 1, 15_000)
    worker.child.kill('SIGTERM')
    expect((await worker.exit).code).toBe(0)
    expect(worker.stderr()).toBe('')
  })
})
