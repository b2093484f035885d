import {afterEach, describe, expect, it} from 'vitest'
import {alwaysOk, startProviderFake, type ProviderFake, type ResponsePlan} from '../fakes/provider-server.js'
import {jsonOf, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {runInPty} from '../helpers/pty.js'
import {killSpawned, spawnCrier, waitFor} from '../helpers/spawn-crier.js'

// A waiting broadcast on a channel the partner paused (429 with Retry-After): it says so once,
// waits out a short pause, and leaves a long one's deliveries queued for crier run, as --no-wait.

let fake: ProviderFake | undefined
let home: CrierHome | undefined
afterEach(async () => {
  killSpawned()
  await fake?.close()
  fake = undefined
  home?.cleanup()
  home = undefined
})

/** 429 with Retry-After on the first request, 200 after. */
function pausesFor(seconds: number): ResponsePlan {
  const ok = alwaysOk()
  return (request) => (request.index === 0 ? {status: 429, headers: {'retry-after': String(seconds)}, body: 'slow down'} : ok(request))
}

async function broadcastTo(plan: ResponsePlan, args: string[] = []) {
  fake = await startProviderFake({plan})
  home = makeCrierHome()
  home.writeConfig(`channels:\n  partners: {type: webhook, url: "${fake.url}/hook"}\n`)
  const began = Date.now()
  const result = await home.runAsync(['broadcast', '-', '--severity', 'Minor', ...args], {input: 'Water supply restored in Llandudno.'})
  const db = home.db()
  const states = db.prepare('SELECT state FROM delivery').pluck().all()
  db.close()
  return {result, states, tookMs: Date.now() - began}
}

describe('a waiting broadcast on a channel the provider paused', () => {
  it('waits out a short pause, saying once until when and why, and that Ctrl-C leaves the rest queued', async () => {
    const {result, states} = await broadcastTo(pausesFor(2))
    expect(result.status, result.stderr).toBe(0)
    const said = result.stderr.split('\n').filter((line) => line.includes('is paused'))
    expect(said).toHaveLength(1)
    expect(said[0]).toMatch(/^partners is paused until .+ \(HTTP 429.*\): waiting for it — Ctrl-C leaves what waits queued for crier run\.$/)
    expect(states).toEqual(['sent'])
    expect(fake!.requests.length).toBe(2)
  })

  it('does not sit through a pause an hour long: says so, leaves the delivery queued for crier run and exits 0, as --no-wait', async () => {
    const {result, states, tookMs} = await broadcastTo(pausesFor(3600), ['--json'])
    expect(result.status, result.stderr).toBe(0)
    expect(tookMs).toBeLessThan(30_000)
    expect(result.stderr).toMatch(/^partners is paused until .+ \(HTTP 429.*\), more than 5 min away: not waiting — its 1 delivery there stays queued; crier run or a worker sends it when the pause ends\.$/m)
    expect(states).toEqual(['queued'])
    expect(fake!.requests.length).toBe(1)
    const json = JSON.parse(result.stdout)
    expect(json.leftQueued).toEqual([expect.objectContaining({channel: 'partners', pending: 1, isLong: true, outlastsExpiry: false})])
  })

  it('status --watch says the channel is paused, until when and why, rather than look stuck', async () => {
    const {result, states} = await broadcastTo(pausesFor(3600), ['--json'])
    expect(result.status, result.stderr).toBe(0)
    expect(states).toEqual(['queued'])
    const id = jsonOf(result).announcement.id as string
    const watch = spawnCrier(home!, ['status', id, '--watch'])
    await waitFor('the pause to be named', () => /is paused/.test(watch.stderr()), 20_000)
    watch.child.kill('SIGINT')
    await watch.exit
    expect(watch.stderr()).toMatch(/^partners is paused until .+ \(HTTP 429.*\): 1 delivery there waits for it\.$/m)
  })

  it('on a terminal, the live view says it is not waiting for the pause (not "Detached"), and below its last frame until when', async () => {
    fake = await startProviderFake({plan: pausesFor(3600)})
    home = makeCrierHome()
    home.writeConfig(`channels:\n  partners: {type: webhook, url: "${fake.url}/hook"}\n`)
    const draft = jsonOf(home.run(['draft', 'Water supply restored in Llandudno.', '--severity', 'Minor', '--channel', 'partners', '--expires', '+30m', '--json']))
    const child = runInPty(['broadcast', draft.id as string], {env: home.env, columns: 100})
    const {exitCode} = await child.exited
    const text = child.text().replace(/\n(?!partners|Not waiting|\w+ deliver)/g, ' ')
    // Past the expiry: it will expire unsent, which the exit code says too.
    expect(exitCode, text).toBe(4)
    expect(text).toMatch(/Not waiting for a provider's pause: 1 delivery stays queued behind it —/)
    expect(text).not.toMatch(/Detached/)
    expect(text).toMatch(/^partners is paused until .+ \(HTTP 429.*\), after \w{12} expires \(.+\): not waiting — its 1 delivery there stays queued, and will expire unsent unless the pause ends sooner\./m)
    // status says the same of it, not that it goes after the pause.
    const status = home.run(['status', draft.id as string])
    expect(status.stderr).toMatch(/partners is paused until .+: \w{12} expires first \(.+\), so what waits there will expire unsent unless the pause ends sooner/)
  })

  it('exits 4 when the pause outlasts the announcement: what waits there will expire unsent', async () => {
    const {result, states} = await broadcastTo(pausesFor(3600), ['--expires', '+30m'])
    expect(result.status, result.stderr).toBe(4)
    expect(result.stderr).toMatch(/^partners is paused until .+ \(HTTP 429.*\), after \w{12} expires \(.+\): not waiting — its 1 delivery there stays queued, and will expire unsent unless the pause ends sooner\.$/m)
    expect(states).toEqual(['queued'])
  })
})
