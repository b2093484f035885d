import {afterEach, describe, expect, it} from 'vitest'
import {alwaysOk, startProviderFake, type ProviderFake, type ResponsePlan} from '../fakes/provider-server.js'
import {makeCrierHome, type CrierHome} from '../helpers/cli.js'

// A waiting broadcast on a channel the partner paused (429 with Retry-After): it says so once,
// waits out a short pause, and leaves a long one's deliveries queued for crier run, as --no-wait.

let fake: ProviderFake | undefined
let home: CrierHome | undefined
afterEach(async () => {
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

  it('exits 4 when the pause outlasts the announcement: what waits there will expire unsent', async () => {
    const {result, states} = await broadcastTo(pausesFor(3600), ['--expires', '+30m'])
    expect(result.status, result.stderr).toBe(4)
    expect(result.stderr).toMatch(/^partners is paused until .+ \(HTTP 429.*\), after \w{12} expires \(.+\): not waiting — its 1 delivery there stays queued, and will expire unsent unless the pause ends sooner\.$/m)
    expect(states).toEqual(['queued'])
  })
})
