import {describe, expect, it} from 'vitest'
import {alwaysOk, startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {shortId} from '../../src/core/ids.js'
import {jsonOf, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {closedAfterEach} from '../helpers/closed-after-each.js'

// An outage that outlasted a channel's attempts: once it is over, `broadcast ID --retry-dead`
// sends again what the retries gave up on — through the built CLI, against a webhook fake that
// answers 503 and then recovers — and never what a provider refused, nor after an Update.

const opened = closedAfterEach()

/** A fake whose `partners` path answers 503 until `recovered`; `strict` always refuses with 400. */
async function outage(): Promise<{fake: ProviderFake; recover: () => void}> {
  let recovered = false
  const ok = alwaysOk()
  const server = await startProviderFake({
    plan: (request) => {
      if (request.path.startsWith('/strict')) return {status: 400, body: 'unknown event type'}
      return recovered ? ok(request) : {status: 503, body: 'down for maintenance'}
    },
  })
  return {fake: server, recover: () => (recovered = true)}
}

function configFor(url: string): string {
  const fast = 'retryBase: 10ms, retryCap: 20ms, maxAttempts: 2'
  return `channels:\n  partners: {type: webhook, url: "${url}/partners", ${fast}}\n  strict: {type: webhook, url: "${url}/strict", ${fast}}\n  website: {type: feed, dir: ./public}\n`
}

/** A home on the outage fake, both closed after the test. */
async function homeInOutage(): Promise<{home: CrierHome; fake: ProviderFake; recover: () => void}> {
  const server = await outage()
  const fake = opened(server.fake)
  const home = opened(makeCrierHome())
  home.writeConfig(configFor(fake.url))
  return {home, fake, recover: server.recover}
}

/** `broadcast -` during the outage: it ends with dead deliveries (exit 4); its id. */
async function broadcastInOutage(h: CrierHome, channels: string, text: string): Promise<string> {
  const result = await h.runAsync(['broadcast', '-', '--severity', 'Minor', '--channel', channels, '--json'], {input: text})
  expect(result.status).toBe(4)
  return JSON.parse(result.stdout).announcement.id as string
}

describe('crier broadcast ID --retry-dead', () => {
  it('is refused once the officer has cancelled it, even where it had reached no one (no Cancel message drafted)', async () => {
    const {home, fake, recover} = await homeInOutage()
    const id = await broadcastInOutage(home, 'partners', 'Evacuate Towyn now.')
    const cancelled = home.run(['cancel', id, 'Sent in error.'])
    expect(cancelled.status, cancelled.stderr).toBe(0)
    expect(cancelled.stdout).toContain('no Cancel message is needed')
    recover()
    const before = fake.requests.length
    const refused = home.run(['broadcast', id, '--retry-dead'])
    expect(refused.status).toBe(3)
    expect(refused.stderr).toBe(`Error: cannot retry the dead deliveries of ${shortId(id)} — it was cancelled\n`)
    expect(fake.requests.length).toBe(before)
  })

  it('after the outage, sends again what gave up on 503s with fresh attempts; the refused stays dead', async () => {
    const {home, fake, recover} = await homeInOutage()
    const id = await broadcastInOutage(home, 'partners,strict', 'Water supply restored in Llandudno.')
    expect(jsonOf(home.run(['status', id, '--json'])).announcement.state).toBe('sent_with_failures')
    const before = fake.requests.length

    recover()
    const retried = await home.runAsync(['broadcast', id, '--retry-dead', '--json'])
    // The refused one is still dead: exit 4, as for any broadcast that ends with one.
    expect(retried.status, retried.stderr).toBe(4)
    const status = JSON.parse(retried.stdout)
    const byChannel = Object.fromEntries((status.channels as Array<{channel: string}>).map((channel) => [channel.channel, channel]))
    expect(byChannel.partners).toMatchObject({sent: 1, dead: 0})
    // Sent in the end: its retries say what they met (503), not "gave up", which is no longer so.
    expect(home.run(['status', id]).stdout).toMatch(/^partners +sent 1\/1 {3}\(2 retries: HTTP 503: down for maintenance\)$/m)
    expect(byChannel.strict).toMatchObject({sent: 0, dead: 1})
    // One more request, to partners only: the 400 was not asked again.
    expect(fake.requests.slice(before).map((request) => request.path)).toEqual(['/partners'])
    const db = home.db()
    try {
      expect(db.prepare(`SELECT channel, state, attempts FROM delivery ORDER BY channel`).all()).toEqual([
        {channel: 'partners', state: 'sent', attempts: 1},
        {channel: 'strict', state: 'dead', attempts: 1},
      ])
    } finally {
      db.close()
    }
    // Recorded: who sent it back to the queue, and the announcement sending again.
    const audit = home.run(['audit', '--id', id])
    expect(audit.stdout).toMatch(/state-changed .*1 delivery dead → queued \(partners 1\): retried: they died of transient failures/)
    expect(audit.stdout).toMatch(/state-changed .*sent_with_failures → sending/)

    const again = home.run(['broadcast', id, '--retry-dead'])
    expect(again.status).toBe(0)
    expect(again.stdout).toBe(`Nothing to retry: no delivery of ${shortId(id)} ended dead through a transient failure.\n`)
  })

  it('is refused once an Update has gone out and for one never broadcast; with --no-wait crier run does the retry', async () => {
    const {home, recover} = await homeInOutage()
    // Published on the website; the partners' copy died in the outage.
    const updated = await broadcastInOutage(home, 'partners,website', 'Road closed at J11.')
    const waiting = await broadcastInOutage(home, 'partners,website', 'Gas leak on the High Street.')
    recover()
    const update = jsonOf(home.run(['update', updated, 'Road reopened at J11.', '--severity', 'Minor', '--json']))
    expect((await home.runAsync(['broadcast', update.id])).status).toBe(0)
    const refused = home.run(['broadcast', updated, '--retry-dead'])
    expect(refused.status).toBe(3)
    expect(refused.stderr).toMatch(/^Error: cannot retry the dead deliveries of \w+ — it was updated by \w+ since, so its words are no longer the news\n$/)

    const draft = jsonOf(home.run(['draft', 'Not sent yet.', '--severity', 'Minor', '--channel', 'partners', '--json']))
    const notSent = home.run(['broadcast', draft.id, '--retry-dead'])
    expect(notSent.status).toBe(3)
    expect(notSent.stderr).toContain('it has not been broadcast (it is draft)')
    for (const clash of ['--dry-run', '--override']) {
      const both = home.run(['broadcast', draft.id, '--retry-dead', clash])
      expect(both.status).toBe(2)
      expect(both.stderr).toBe(`Error: --retry-dead sends again what was approved and sent before — it takes no ${clash}; leave ${clash} out\n`)
    }

    const queued = home.run(['broadcast', waiting, '--retry-dead', '--no-wait'])
    expect(queued.status).toBe(0)
    expect(queued.stderr).toBe(`Retrying 1 dead delivery of ${shortId(waiting)}: partners 1.\n`)
    expect(queued.stdout).toContain(`Queued ${shortId(waiting)}: 1 delivery. crier run or a worker will send it.`)
    expect(jsonOf(home.run(['status', waiting, '--json'])).announcement.state).toBe('sending')
    expect((await home.runAsync(['run'])).status).toBe(0)
    expect(jsonOf(home.run(['status', waiting, '--json'])).announcement.state).toBe('sent')
  })
})
