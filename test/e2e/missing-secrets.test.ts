import {createHmac} from 'node:crypto'
import {afterEach, describe, expect, it} from 'vitest'
import {slow, startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {killSpawned, spawnCrier, waitFor} from '../helpers/spawn-crier.js'

// A duty officer's shell often lacks the providers' secrets that the worker's environment has.
// What sends nothing on a channel does not need its secret; what sends on it from that shell
// does not send there, and says so — with nothing lost, and never a request made with the
// `${VAR}` text where the secret goes.

const hmac = 'hmac-kept-by-the-worker-5150'
let home: CrierHome | undefined
let fake: ProviderFake | undefined
afterEach(async () => {
  await killSpawned()
  await fake?.close()
  fake = undefined
  home?.cleanup()
  home = undefined
})

function rows(h: CrierHome, sql: string, ...params: unknown[]): unknown[] {
  const db = h.db()
  try {
    return db.prepare(sql).all(...params)
  } finally {
    db.close()
  }
}

function signedWith(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

describe('a channel whose secret this shell lacks', () => {
  it('cancel: stops the original, sends the Cancel where it can, and leaves the rest queued for a run that has the secret (exit 1, one line)', async () => {
    fake = await startProviderFake()
    home = makeCrierHome()
    home.writeConfig(`channels:\n  website: {type: feed, dir: ./public}\n  partners: {type: webhook, url: "${fake.url}/hooks", secret: "\${PARTNERS_HMAC}"}\n`)
    const withSecret = {PARTNERS_HMAC: hmac}
    const sent = await home.runAsync(['broadcast', '-', '--severity', 'Minor', '--headline', 'A55 closed', '--channel', 'website,partners', '--json'], {input: 'The A55 is closed at J11.', env: withSecret})
    expect(sent.status, sent.stderr).toBe(0)
    const id = JSON.parse(sent.stdout).announcement.id as string
    expect(fake.requests).toHaveLength(1)

    const cancelled = await home.runAsync(['cancel', id, 'The A55 has reopened.'])
    expect(cancelled.status).toBe(1)
    expect(cancelled.stderr).toBe(
      'Error: partners cannot send: this shell lacks its secret: config.yaml: channels.partners.secret: environment variable PARTNERS_HMAC is not set — its deliveries stay queued; once it is fixed, crier run sends them\n',
    )
    expect(cancelled.stdout).toMatch(/^website +sent 1\/1$/m)
    expect(cancelled.stdout).toMatch(/^partners +sent 0\/1 +pending 1$/m)
    // Nothing went to the partner with a stand-in for the secret.
    expect(fake.requests).toHaveLength(1)
    expect(rows(home, `SELECT a.msg_type AS type, d.channel, d.state FROM delivery d JOIN announcement a ON a.id = d.announcement_id ORDER BY a.msg_type, d.channel`)).toEqual([
      {type: 'Alert', channel: 'partners', state: 'sent'},
      {type: 'Alert', channel: 'website', state: 'sent'},
      {type: 'Cancel', channel: 'partners', state: 'queued'},
      {type: 'Cancel', channel: 'website', state: 'sent'},
    ])

    // The worker's environment has it: the Cancel reaches the partner, signed with the real secret.
    const run = await home.runAsync(['run'], {env: withSecret})
    expect(run.status, run.stderr).toBe(0)
    expect(fake.requests).toHaveLength(2)
    const cancel = fake.requests[1]!
    expect(JSON.parse(cancel.body)).toMatchObject({msgType: 'Cancel'})
    expect(cancel.headers['x-crier-signature']).toBe(signedWith(hmac, cancel.body))
  })

  it('a delivery left in doubt on it is not settled by a run lacking the secret, but by the next run that has it', async () => {
    fake = await startProviderFake({plan: slow(10_000)})
    home = makeCrierHome()
    home.writeConfig(`channels:\n  partners: {type: webhook, url: "${fake.url}/hooks", secret: "\${PARTNERS_HMAC}"}\n`)
    const withSecret = {PARTNERS_HMAC: hmac}
    const queued = home.run(['broadcast', '-', '--severity', 'Minor', '--channel', 'partners', '--no-wait', '--json'], {input: 'Road closed at J11.'})
    expect(queued.status, queued.stderr).toBe(0)
    expect(queued.stderr).toBe('')
    const id = JSON.parse(queued.stdout).announcement.id as string
    home.env.PARTNERS_HMAC = hmac
    const sender = spawnCrier(home, ['run'])
    delete home.env.PARTNERS_HMAC
    await waitFor('the send to be on the wire', () => fake!.requests.length === 1, 15_000)
    sender.child.kill('SIGKILL')
    await sender.exit

    // cron's environment lacks it: the delivery stays in doubt, neither resent nor called unknown.
    const lacking = await home.runAsync(['run'])
    expect(lacking.status).toBe(0)
    expect(lacking.stderr).toMatch(/^crier: config\.yaml: channels\.partners\.secret: environment variable PARTNERS_HMAC is not set — export it before running crier — partners is left out until that is fixed$/m)
    expect(rows(home, `SELECT state FROM delivery`)).toEqual([{state: 'sending'}])
    expect(fake.requests).toHaveLength(1)

    // With it: webhooks are idempotent, so it is sent again under the same Idempotency-Key.
    fake.respondWith(slow(0))
    const settled = await home.runAsync(['run'], {env: withSecret})
    expect(settled.status, settled.stderr).toBe(0)
    expect(rows(home, `SELECT state FROM delivery`)).toEqual([{state: 'sent'}])
    expect(fake.requests).toHaveLength(2)
    expect(fake.requests.distinct('idempotency-key').size).toBe(1)
    expect(JSON.parse(home.run(['status', id, '--json']).stdout)).toMatchObject({pending: 0})
  })
})

describe('a config that does not load (a colleague’s typo)', () => {
  it('cancel still stops the message (exit 2, naming the problem); once fixed, cancel again tells the public', async () => {
    fake = await startProviderFake({plan: slow(10_000)})
    home = makeCrierHome()
    const good = `channels:\n  website: {type: feed, dir: ./public}\n  partners: {type: webhook, url: "${fake.url}/hooks", concurrency: 1, timeout: 30s}\n`
    home.writeConfig(good)
    // Out on the website; to the partner, queued behind a slow endpoint that no run is sending to.
    const queued = home.run(['broadcast', '-', '--severity', 'Minor', '--headline', 'Evacuate Llanrwst', '--channel', 'website,partners', '--no-wait', '--json'], {input: 'Leave now (sent in error).'})
    const id = JSON.parse(queued.stdout).announcement.id as string
    const db = home.db()
    db.prepare(`UPDATE delivery SET state = 'sent' WHERE channel = 'website'`).run()
    db.close()
    home.writeConfig(`${good}policy:\n  bogusKey: 1\n`)

    const stopped = home.run(['cancel', id, 'Disregard the evacuation message.'])
    expect(stopped.status).toBe(2)
    expect(stopped.stderr).toBe(
      `Cancelled ${id.slice(0, 12)}: stopped 1 delivery not yet sent. The config does not load, so no Cancel message was drafted — fix it, then run crier cancel ${id.slice(0, 12)} again to tell the public:\nError: config.yaml: policy.bogusKey: unknown key\n`,
    )
    expect(rows(home, `SELECT channel, state FROM delivery ORDER BY channel`)).toEqual([
      {channel: 'partners', state: 'cancelled'},
      {channel: 'website', state: 'sent'},
    ])
    expect(rows(home, `SELECT state FROM announcement WHERE id = ?`, id)).toEqual([{state: 'cancelled'}])

    home.writeConfig(good)
    const told = await home.runAsync(['cancel', id, 'Disregard the evacuation message.'])
    expect(told.status, told.stderr).toBe(0)
    expect(told.stdout).toMatch(/Sending the Cancel message \S+ to website:/)
    expect(rows(home, `SELECT a.msg_type AS type, d.channel, d.state FROM delivery d JOIN announcement a ON a.id = d.announcement_id WHERE a.msg_type = 'Cancel'`)).toEqual([{type: 'Cancel', channel: 'website', state: 'sent'}])
    // Told once: a third cancel is refused, as any second one is.
    expect(home.run(['cancel', id]).status).toBe(3)
    expect(fake.requests).toHaveLength(0)
  })
})
