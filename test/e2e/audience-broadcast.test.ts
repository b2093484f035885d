import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {startSmtpFake, type SmtpFake} from '../fakes/smtp-server.js'
import {acceptedMessages, twilioFaults, twilioPlan} from '../fakes/twilio-plan.js'
import {jsonOf, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {spawnCrier, waitFor} from '../helpers/spawn-crier.js'

// E-mail and SMS to an imported audience through the built CLI: a real SMTP server and a
// Twilio-shaped API on loopback, and what each received, person by person.

const accountSid = 'AC' + '0'.repeat(32)
const authToken = 'twilio-token-for-tests-93c1'
const smtpPassword = 'smtp-password-for-tests-7d2e'

let home: CrierHome | undefined
let twilio: ProviderFake | undefined
let smtp: SmtpFake | undefined
afterEach(async () => {
  home?.cleanup()
  home = undefined
  await twilio?.close()
  twilio = undefined
  await smtp?.close()
  smtp = undefined
})

describe('broadcast to an audience', () => {
  it('sends one e-mail and one SMS per subscriber, none to the opted-out, and skips those without the contact', async () => {
    smtp = await startSmtpFake({users: {alerts: smtpPassword}})
    twilio = await startProviderFake({plan: twilioPlan({accountSid, authToken, cueTo: {'+447700900333': twilioFaults.unsubscribed()}})})
    home = makeCrierHome()
    Object.assign(home.env, {SMTP_PASSWORD: smtpPassword, TWILIO_AUTH_TOKEN: authToken})
    home.writeConfig(`defaultRegion: GB
channels:
  residents-email: {type: email, smtp: "smtp://alerts:\${SMTP_PASSWORD}@127.0.0.1:${smtp.port}", from: "North Wales Police <alerts@northwales.example>", audience: residents}
  residents-sms: {type: sms, accountSid: "${accountSid}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "+447700900999", baseUrl: "${twilio.url}", audience: residents}
`)
    const csv = join(home.home, 'residents.csv')
    writeFileSync(csv, [
      'name,email,phone,language,lat,lon,zone,tags',
      'Ceri,ceri@example.org,07700 900111,cy-GB,,,,',
      'Bob,bob@example.org,,en-GB,,,,',
      'Dai,,07700 900222,,,,,',
      'Eve,eve@example.org,07700 900333,,,,,',
      'Opted,opted@example.org,07700 900444,,,,,',
    ].join('\n') + '\n')
    expect(home.run(['subscribers', 'import', csv, '--list', 'residents']).status).toBe(0)
    expect(home.run(['subscribers', 'optout', 'opted@example.org']).status).toBe(0)
    expect(home.run(['subscribers', 'optout', '+447700900444']).status).toBe(0)

    const draft = jsonOf(home.run(['draft', 'Water supply restored in Llandudno. Run taps for two minutes.', '--severity', 'Minor', '--channel', 'residents-email,residents-sms', '--json']))
    const preview = home.run(['preview', draft.id, '--channel', 'residents-sms'])
    expect(preview.stdout).toMatch(/SMS — GSM-7, 1 segment \(\d+ chars\)/)

    const result = await home.runAsync(['broadcast', draft.id, '--json'])
    expect(result.status, result.stderr).toBe(0)
    const status = JSON.parse(result.stdout)
    const byChannel = Object.fromEntries(status.channels.map((c: {channel: string}) => [c.channel, c]))
    expect(byChannel['residents-email']).toMatchObject({total: 4, sent: 3, skipped: 1})
    expect(byChannel['residents-sms']).toMatchObject({total: 4, sent: 2, skipped: 2})
    expect(status.announcement.state).toBe('sent')
    // Channel names longer than the column keep a gap before their counts.
    expect(home.run(['show', draft.id]).stdout).toMatch(/^ {2}residents-email {2}sent 3\/4/m)

    expect(smtp.messages.map((m) => m.to[0]).sort()).toEqual(['bob@example.org', 'ceri@example.org', 'eve@example.org'])
    for (const message of smtp.messages) {
      expect(message.header('subject')).toBe('[Minor] Water supply restored in Llandudno.')
      expect(message.text).toContain('Run taps for two minutes.')
      expect(message.header('list-unsubscribe')).toBeTruthy()
    }
    expect(acceptedMessages(twilio.requests).map((m) => m.To).sort()).toEqual(['+447700900111', '+447700900222'])
    // Eve's number answered 21610: skipped, and opted out for next time.
    const counts = jsonOf(home.run(['subscribers', 'list', '--json']))
    // Opted out: opted@ by hand, and two numbers (+447700900444 by hand, Eve's by the 21610).
    expect(counts).toEqual([{list: 'residents', subscribers: 5, optedOut: 2, emails: 4, emailsOptedOut: 1, phones: 4, phonesOptedOut: 2}])
    expect(result.stdout + result.stderr).not.toContain(smtpPassword)
    expect(result.stdout + result.stderr).not.toContain(authToken)
  })

  it('an SMS whose connection dropped after the request went out ends unknown, and is never sent a second time', async () => {
    twilio = await startProviderFake({plan: twilioPlan({accountSid, authToken, cueTo: {'+447700900222': {reset: true}}})})
    home = makeCrierHome()
    home.env.TWILIO_AUTH_TOKEN = authToken
    home.writeConfig(`defaultRegion: GB
channels:
  residents-sms: {type: sms, accountSid: "${accountSid}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "+447700900999", baseUrl: "${twilio.url}", audience: residents}
`)
    const csv = join(home.home, 'residents.csv')
    writeFileSync(csv, 'name,email,phone\nCeri,,07700 900111\nDai,,07700 900222\nEve,,07700 900333\n')
    expect(home.run(['subscribers', 'import', csv, '--list', 'residents']).status).toBe(0)
    const draft = jsonOf(home.run(['draft', 'Boil water notice lifted in Conwy.', '--severity', 'Minor', '--channel', 'residents-sms', '--json']))

    const result = await home.runAsync(['broadcast', draft.id, '--json'])
    expect(result.status, result.stderr).toBe(4)
    const sms = JSON.parse(result.stdout).channels[0]
    expect(sms).toMatchObject({total: 3, sent: 2, unknown: 1})
    const toDai = twilio.requests.filter((request) => new URLSearchParams(request.body).get('To') === '+447700900222')
    expect(toDai.map((request) => request.outcome)).toEqual(['reset'])
    expect(acceptedMessages(twilio.requests).map((m) => m.To).sort()).toEqual(['+447700900111', '+447700900333'])
    // Which resident to check with the provider: their name and number, and why.
    const listed = home.run(['status', draft.id, '--deliveries', 'unknown'])
    expect(listed.stdout).toMatch(/^Deliveries: 1\n {2}residents-sms {2}unknown {2}Dai \+447700900222 {2}\(1 attempt\) {2}no answer, so it may or may not have gone out/m)
    const json = JSON.parse(home.run(['status', draft.id, '--deliveries', 'unknown,dead', '--json']).stdout)
    expect(json.deliveriesInAll).toBe(1)
    expect(json.deliveries).toEqual([expect.objectContaining({channel: 'residents-sms', state: 'unknown', name: 'Dai', phone: '+447700900222', attempts: 1})])
    expect(home.run(['status', draft.id, '--deliveries', 'lost']).stderr).toBe('Error: --deliveries lost: expected unknown, dead, expired, skipped, cancelled\n')
    // A second run leaves it alone: in doubt is for a person to settle, not for a retry.
    expect(home.run(['run']).status).toBe(0)
    expect(twilio.requests.filter((request) => new URLSearchParams(request.body).get('To') === '+447700900222')).toHaveLength(1)
  })
})

describe('two SMS channels on one gateway', () => {
  it('each gets its own connections: none of their texts waits past its timeout for the other, none ends in doubt', async () => {
    // Each number answered in 600 ms of a 1 s timeout, but the pool had room for one channel's
    // concurrency: the other's texts waited for a connection, timed out unsent, and were
    // reported as possibly sent — to residents who never got them.
    const plan = twilioPlan({accountSid, authToken})
    twilio = await startProviderFake({plan: (request) => ({...plan(request), delayMs: 600}) as ReturnType<typeof plan>})
    home = makeCrierHome()
    home.env.TWILIO_AUTH_TOKEN = authToken
    const sms = (from: string, list: string) =>
      `{type: sms, accountSid: "${accountSid}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "${from}", baseUrl: "${twilio!.url}", audience: ${list}, concurrency: 2, timeout: 1s}`
    home.writeConfig(`defaultRegion: GB
channels:
  residents-sms: ${sms('+447700900998', 'residents')}
  responders-sms: ${sms('+447700900999', 'responders')}
`)
    for (const [list, prefix] of [['residents', '07700 9001'], ['responders', '07700 9002']] as const) {
      const csv = join(home.home, `${list}.csv`)
      writeFileSync(csv, 'name,phone\n' + Array.from({length: 4}, (_, i) => `${list} ${i},${prefix}1${i}`).join('\n') + '\n')
      expect(home.run(['subscribers', 'import', csv, '--list', list]).status).toBe(0)
    }
    const draft = jsonOf(home.run(['draft', 'Gas leak on Stryd Fawr: stay indoors.', '--severity', 'Minor', '--channel', 'residents-sms,responders-sms', '--json']))
    const result = await home.runAsync(['broadcast', draft.id, '--json'])
    expect(result.status, result.stderr).toBe(0)
    const channels = JSON.parse(result.stdout).channels as Array<{channel: string; total: number; sent: number}>
    expect(channels.map(({channel, total, sent}) => ({channel, total, sent}))).toEqual([
      {channel: 'residents-sms', total: 4, sent: 4},
      {channel: 'responders-sms', total: 4, sent: 4},
    ])
    expect(acceptedMessages(twilio.requests)).toHaveLength(8)
  })
})

describe('an e-mail whose server took the whole message and never answered', () => {
  it('ends unknown, is never sent again (it may have arrived), and gets the Cancel', async () => {
    smtp = await startSmtpFake({users: {alerts: smtpPassword}})
    // Bryn's server takes the whole message and never answers; everyone else's accepts.
    smtp.answer((offer) => (offer.to.includes('bryn@example.org') ? {stall: true} : {accept: true}))
    home = makeCrierHome()
    home.env.SMTP_PASSWORD = smtpPassword
    home.writeConfig(`channels:
  residents-email: {type: email, smtp: "smtp://alerts:\${SMTP_PASSWORD}@127.0.0.1:${smtp.port}", from: "North Wales Police <alerts@northwales.example>", audience: residents, timeout: 500ms, retryBase: 50ms, retryCap: 100ms, maxAttempts: 3}
`)
    const csv = join(home.home, 'residents.csv')
    writeFileSync(csv, 'name,email\nAled,aled@example.org\nBryn,bryn@example.org\n')
    expect(home.run(['subscribers', 'import', csv, '--list', 'residents']).status).toBe(0)
    const sent = await home.runAsync(['broadcast', '-', '--severity', 'Minor', '--headline', 'Evacuate Llanrwst', '--channel', 'residents-email', '--json'], {input: 'Leave now (sent in error).'})
    expect(sent.status, sent.stderr).toBe(4)
    const id = JSON.parse(sent.stdout).announcement.id as string
    expect(JSON.parse(sent.stdout).channels[0]).toMatchObject({total: 2, sent: 1, unknown: 1, dead: 0})
    const toBryn = () => smtp!.offers.filter((offer) => offer.to.includes('bryn@example.org'))
    expect(toBryn()).toHaveLength(1)
    // A later run leaves it to the officer: it is not sent a second (or third) time.
    expect(home.run(['run']).status).toBe(0)
    expect(toBryn()).toHaveLength(1)

    // The Cancel goes to both: Bryn may well have the wrong message.
    smtp.answer(() => ({accept: true}))
    const cancelled = await home.runAsync(['cancel', id, 'Disregard the evacuation message.', '--json'])
    expect(cancelled.status, cancelled.stderr).toBe(0)
    const cancels = smtp.messages.filter((message) => /Cancelled/.test(message.header('subject') ?? ''))
    expect(cancels.map((message) => message.to[0]).sort()).toEqual(['aled@example.org', 'bryn@example.org'])
  })
})

describe('each subscriber reads their own language', () => {
  it('however their tag is written: cy, CY-gb and cy-Latn-GB read the cy-GB text; en, none and fr the English', async () => {
    twilio = await startProviderFake({plan: twilioPlan({accountSid, authToken})})
    home = makeCrierHome()
    home.env.TWILIO_AUTH_TOKEN = authToken
    home.writeConfig(`defaultRegion: GB
languages: [en-GB, cy-GB]
channels:
  residents-sms: {type: sms, accountSid: "${accountSid}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "+447700900999", baseUrl: "${twilio.url}", audience: residents}
`)
    const csv = join(home.home, 'residents.csv')
    const tags = ['cy-GB', 'cy', 'CY-gb', 'cy-Latn-GB', 'en', '', 'fr']
    writeFileSync(csv, `name,phone,language\n${tags.map((tag, i) => `P${i},07700 90010${i},${tag}`).join('\n')}\n`)
    expect(home.run(['subscribers', 'import', csv, '--list', 'residents']).status).toBe(0)
    const draft = jsonOf(home.run(['draft', 'Water is safe to drink again.', '--severity', 'Minor', '--channel', 'residents-sms', '--json']))
    expect(home.run(['edit', draft.id, '--lang', 'cy-GB', '--text', 'Mae’r dŵr yn ddiogel i’w yfed eto.']).status).toBe(0)

    const result = await home.runAsync(['broadcast', draft.id])
    expect(result.status, result.stderr).toBe(0)
    const bodyTo = new Map(acceptedMessages(twilio.requests).map((m) => [m.To, m.Body]))
    tags.forEach((tag, i) => {
      const body = bodyTo.get(`+44770090010${i}`)
      expect(body, `tag "${tag}"`).toContain(['cy-GB', 'cy', 'CY-gb', 'cy-Latn-GB'].includes(tag) ? 'dŵr yn ddiogel' : 'Water is safe to drink again.')
    })
  })
})

describe('a Cancel to an audience', () => {
  it('goes to those the original reached: not to one whose copy a run held and let go unsent when it was cancelled', async () => {
    const plan = twilioPlan({accountSid, authToken})
    // Every message takes 1.5 s: with concurrency 1 the run has one on the wire and the other five held behind it.
    twilio = await startProviderFake({plan: (request) => ({...plan(request), delayMs: 1500})})
    home = makeCrierHome()
    home.env.TWILIO_AUTH_TOKEN = authToken
    home.writeConfig(`defaultRegion: GB
channels:
  residents-sms: {type: sms, accountSid: "${accountSid}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "+447700900999", baseUrl: "${twilio.url}", audience: residents, concurrency: 1}
`)
    const csv = join(home.home, 'residents.csv')
    writeFileSync(csv, `name,phone\n${[0, 1, 2, 3, 4, 5].map((i) => `P${i},07700 90020${i}`).join('\n')}\n`)
    expect(home.run(['subscribers', 'import', csv, '--list', 'residents']).status).toBe(0)
    const queued = home.run(['broadcast', '-', '--severity', 'Minor', '--channel', 'residents-sms', '--no-wait', '--json'], {input: 'Gas leak: avoid the High Street.'})
    const id = JSON.parse(queued.stdout).announcement.id as string
    const run = home.runAsync(['run', '--max-time', '30s'])
    await waitFor('the first message on the wire', () => twilio!.requests.length === 1, 15_000)
    const cancelled = await home.runAsync(['cancel', id, 'Disregard the gas leak message.'])
    expect(cancelled.status, cancelled.stderr).toBe(0)
    expect((await run).status).toBe(0)

    const bodies = acceptedMessages(twilio.requests)
    const gotOriginal = bodies.filter((m) => !m.Body?.includes('Disregard')).map((m) => m.To).sort()
    const gotCancel = bodies.filter((m) => m.Body?.includes('Disregard')).map((m) => m.To).sort()
    expect(gotOriginal).toHaveLength(1)
    expect(gotCancel).toEqual(gotOriginal)
    const db = home.db()
    try {
      const letGo = db.prepare(`SELECT count(*) FROM delivery WHERE announcement_id = ? AND state = 'cancelled' AND last_error LIKE '%while a sender held it%'`).pluck().get(id) as number
      expect(letGo).toBe(5)
      // The let-go five get no Cancel: skipped as never reached — or, when the sender let them go
      // before the Cancel was queued, no delivery at all. Only the one reached is sent it.
      const cancelRows = db.prepare(`SELECT state, last_error AS error FROM delivery WHERE announcement_id <> ?`).all(id) as Array<{state: string; error: string | null}>
      expect(cancelRows.filter((row) => row.state === 'sent')).toHaveLength(1)
      for (const row of cancelRows.filter((row) => row.state !== 'sent')) expect(row).toEqual({state: 'skipped', error: 'never received the message it cancels (it was stopped before it was sent)'})
    } finally {
      db.close()
    }
  })
})

describe('crier run killed while texting an audience', () => {
  it('leaves in doubt only the texts on the wire: those it had claimed and not started go to their residents after the restart, nobody twice', async () => {
    const plan = twilioPlan({accountSid, authToken})
    // Each text takes 300 ms to be accepted: the kill finds four on the wire and more claimed ahead.
    twilio = await startProviderFake({plan: (request) => ({...plan(request), delayMs: 300})})
    home = makeCrierHome()
    home.env.TWILIO_AUTH_TOKEN = authToken
    home.writeConfig(`defaultRegion: GB
channels:
  residents-sms: {type: sms, accountSid: "${accountSid}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "+447700900999", baseUrl: "${twilio.url}", audience: residents, concurrency: 4}
`)
    const numbers = Array.from({length: 40}, (_, i) => `+4477009005${String(i).padStart(2, '0')}`)
    const csv = join(home.home, 'residents.csv')
    writeFileSync(csv, `name,phone\n${numbers.map((number, i) => `R${i},${number}`).join('\n')}\n`)
    expect(home.run(['subscribers', 'import', csv, '--list', 'residents']).status).toBe(0)
    expect(home.run(['broadcast', '-', '--severity', 'Minor', '--channel', 'residents-sms', '--no-wait'], {input: 'Gas leak: avoid the High Street.'}).status).toBe(0)

    const db = home.db()
    const held = () => db.prepare(`SELECT count(*) FROM delivery WHERE state = 'sending'`).pluck().get() as number
    const run = spawnCrier(home, ['run'])
    // Killed with texts on the wire and more claimed than were on the wire.
    await waitFor('texts on the wire, more claimed', () => twilio!.requests.length >= 6 && held() > 4)
    run.child.kill('SIGKILL')
    await run.exit
    // What the killed process had written to its sockets still arrives: let the fake read it all.
    let receivedBeforeRestart = -1
    await waitFor('the fake to have read everything sent before the kill', () => {
      const settled = twilio!.requests.length === receivedBeforeRestart
      receivedBeforeRestart = twilio!.requests.length
      return settled
    })

    const restart = await home.runAsync(['run', '--json'])
    expect(restart.status).toBe(4) // what was on the wire is in doubt: a person checks it
    expect(held()).toBe(0)
    const rows = db.prepare(`SELECT s.phone AS phone, d.state AS state FROM delivery d JOIN subscriber s ON s.id = d.recipient`).all() as Array<{phone: string; state: string}>
    db.close()
    const unknown = rows.filter((row) => row.state === 'unknown')
    // In doubt: those on the wire, and those answered whose results had not been committed yet —
    // and, at most one per send slot, one recorded as started whose request the kill cut short.
    expect(unknown.length).toBeGreaterThan(0)
    expect(unknown.length).toBeLessThanOrEqual(receivedBeforeRestart + 4)
    expect(rows.filter((row) => row.state === 'sent')).toHaveLength(40 - unknown.length)
    // Nobody texted twice, none lost with the claims: every resident the provider did not get
    // a text for is one a person is told to check (unknown), never one silently dropped.
    const sentTo = twilio.requests.map((request) => new URLSearchParams(request.body).get('To')!)
    expect(new Set(sentTo).size).toBe(sentTo.length)
    const unknownNumbers = new Set(unknown.map((row) => row.phone))
    const missing = numbers.filter((number) => !sentTo.includes(number))
    for (const number of missing) expect(unknownNumbers.has(number), number).toBe(true)
    expect(sentTo.length + missing.length).toBe(40)
  })
})
