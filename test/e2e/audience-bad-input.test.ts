import {closeSync, openSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {startSmtpFake, type SmtpFake} from '../fakes/smtp-server.js'
import {twilioPlan} from '../fakes/twilio-plan.js'
import {jsonOf, makeCrierHome, storeFacts, type CrierHome} from '../helpers/cli.js'

const smtpPassword = 'smtp-password-for-tests-7d2e'
let home: CrierHome | undefined
let smtp: SmtpFake | undefined
let twilio: ProviderFake | undefined
afterEach(async () => {
  home?.cleanup()
  home = undefined
  await smtp?.close()
  smtp = undefined
  await twilio?.close()
  twilio = undefined
})

describe('audience channels refuse bad input', () => {
  it('wrong SMTP credentials: channels test exits 1 with the server reply and no password', async () => {
    smtp = await startSmtpFake({users: {alerts: 'the-right-one'}, authFailureText: (_user, password) => `Invalid login: ${password} is wrong`})
    home = makeCrierHome()
    Object.assign(home.env, {SMTP_PASSWORD: smtpPassword})
    home.writeConfig(`channels:\n  residents-email: {type: email, smtp: "smtp://alerts:\${SMTP_PASSWORD}@127.0.0.1:${smtp.port}", from: "Alerts <alerts@example.org>", audience: residents}\n`)
    const result = await home.runAsync(['channels', 'test', 'residents-email'])
    expect(result.status).toBe(1)
    expect(result.stdout).toMatch(/residents-email\s+FAILED\s+SMTP 127\.0\.0\.1:\d+: .*credentials/i)
    expect(result.stdout + result.stderr).not.toContain(smtpPassword)
    const json = await home.runAsync(['channels', 'test', '--json'])
    expect(JSON.parse(json.stdout)[0]).toMatchObject({channel: 'residents-email', ok: false})
    expect(json.stdout).not.toContain(smtpPassword)
    expect(smtp.messages).toHaveLength(0)
  })

  it('wrong SMTP credentials at broadcast: exit 1 with the server reply and no password; the audience stays queued and goes once they are fixed', async () => {
    smtp = await startSmtpFake({users: {alerts: 'the-right-one'}, authFailureText: (_user, password) => `Invalid login: ${password} is wrong`})
    home = makeCrierHome()
    Object.assign(home.env, {SMTP_PASSWORD: smtpPassword})
    home.writeConfig(`channels:\n  residents-email: {type: email, smtp: "smtp://alerts:\${SMTP_PASSWORD}@127.0.0.1:${smtp.port}", from: "Alerts <alerts@example.org>", audience: residents, maxConnections: 2}\n`)
    home.run(['list'])
    const db = home.db()
    const add = db.prepare(`INSERT INTO subscriber (list, email, created_at, updated_at) VALUES ('residents', ?, 0, 0)`)
    for (let i = 0; i < 30; i++) add.run(`resident${i}@example.org`)
    db.close()
    const draft = jsonOf(home.run(['draft', 'The water main on the High Street has burst.', '--severity', 'Minor', '--channel', 'residents-email', '--json']))

    const refused = await home.runAsync(['broadcast', draft.id])
    expect(refused.status).toBe(1)
    expect(refused.stderr).toMatch(/^Error: residents-email cannot send: credentials refused by the SMTP server: 535 Invalid login: \*\*\* is wrong — .* — its deliveries stay queued; once it is fixed, crier run sends them$/m)
    expect(refused.stdout + refused.stderr).not.toContain(smtpPassword)
    // No audience's worth of refused logins: the channel stopped at the first refusals.
    expect(smtp.connectionsOpened).toBeLessThanOrEqual(4)
    const after = home.db()
    expect(after.prepare(`SELECT state, attempts, count(*) AS n FROM delivery GROUP BY state, attempts`).all()).toEqual([{state: 'queued', attempts: 0, n: 30}])
    expect(after.prepare(`SELECT count(*) FROM delivery WHERE instr(coalesce(last_error, ''), ?) > 0`).pluck().get(smtpPassword)).toBe(0)
    after.close()

    home.env.SMTP_PASSWORD = 'the-right-one'
    const fixed = await home.runAsync(['run'])
    expect(fixed.status).toBe(0)
    expect(fixed.stderr).toBe('')
    expect(new Set(smtp.messages.map((message) => message.header('to'))).size).toBe(30)
    expect(smtp.messages).toHaveLength(30)
    expect(jsonOf(home.run(['status', draft.id, '--json'])).announcement.state).toBe('sent')
  })

  it('an audience nobody was imported into: preview says so as an error, schedule and broadcast refuse it (exit 2), nothing queued', () => {
    home = makeCrierHome()
    Object.assign(home.env, {TWILIO_AUTH_TOKEN: 'tok-xyz-123456'})
    home.writeConfig(`channels:\n  website: {type: feed, dir: ./public}\n  residents-sms: {type: sms, accountSid: "AC${'1'.repeat(32)}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "+447700900999", baseUrl: "http://127.0.0.1:9", audience: residents}\n`)
    const draft = jsonOf(home.run(['draft', 'Water is safe to drink again.', '--severity', 'Minor', '--channel', 'website,residents-sms', '--json']))
    const problem = 'channel residents-sms: audience "residents" has no subscribers — import them with crier subscribers import FILE --list residents'
    expect(home.run(['preview', draft.id]).stdout).toContain(`Policy error: ${problem}`)
    expect(jsonOf(home.run(['preview', draft.id, '--json'])).findings).toContainEqual({level: 'error', rule: 'empty-audience', message: problem})
    const before = storeFacts(home)
    for (const args of [['schedule', draft.id, '--at', 'in 2 hours'], ['broadcast', draft.id]]) {
      const result = home.run(args)
      expect(result.status).toBe(2)
      expect(result.stderr).toBe(`Error: ${problem}\n`)
    }
    expect(storeFacts(home)).toEqual(before)
    expect(jsonOf(home.run(['show', draft.id, '--json'])).state).toBe('draft')
  })

  it('an audience where nobody can be reached (all opted out): preview says so as an error, broadcast refuses (exit 2)', () => {
    home = makeCrierHome()
    Object.assign(home.env, {TWILIO_AUTH_TOKEN: 'tok-xyz-123456'})
    home.writeConfig(`channels:\n  residents-sms: {type: sms, accountSid: "AC${'1'.repeat(32)}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "+447700900999", baseUrl: "http://127.0.0.1:9", audience: residents}\n`)
    expect(home.run(['subscribers', 'import', '-', '--list', 'residents'], {input: 'name,email,phone\nA,a@example.org,+447700900011\nB,b@example.org,\n', cwd: home.home}).status).toBe(0)
    expect(home.run(['subscribers', 'optout', '+447700900011']).status).toBe(0)
    const draft = jsonOf(home.run(['draft', 'Water is safe to drink again.', '--severity', 'Minor', '--channel', 'residents-sms', '--json']))
    const problem = 'channel residents-sms: nobody in audience "residents" can be reached (2 subscribers, each opted out or without a phone number) — nothing would go there; leave residents-sms out'
    expect(home.run(['preview', draft.id]).stdout).toContain(`Policy error: ${problem}`)
    const before = storeFacts(home)
    const result = home.run(['broadcast', draft.id])
    expect(result.status).toBe(2)
    expect(result.stderr).toBe(`Error: ${problem}\n`)
    expect(storeFacts(home)).toEqual(before)
  })

  it('an SMS over maxSegments is a policy error in preview and broadcast, nothing queued', async () => {
    twilio = await startProviderFake({plan: twilioPlan({accountSid: 'AC' + '1'.repeat(32), authToken: 'tok-xyz-123456'})})
    home = makeCrierHome()
    Object.assign(home.env, {TWILIO_AUTH_TOKEN: 'tok-xyz-123456'})
    home.writeConfig(`channels:\n  residents-sms: {type: sms, accountSid: "AC${'1'.repeat(32)}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "+447700900999", baseUrl: "${twilio.url}", audience: residents, maxSegments: 2}\n`)
    const db = (() => {
      home.run(['list'])
      return home.db()
    })()
    db.prepare(`INSERT INTO subscriber (list, phone, created_at, updated_at) VALUES ('residents', '+447700900111', 0, 0)`).run()
    db.close()
    const long = 'The water main on the High Street has burst. '.repeat(12)
    const draft = jsonOf(home.run(['draft', long, '--severity', 'Minor', '--channel', 'residents-sms', '--json']))
    const preview = jsonOf(home.run(['preview', draft.id, '--json']))
    expect(preview.findings).toEqual([expect.objectContaining({level: 'error', rule: 'channel-limit', channel: 'residents-sms'})])
    const before = storeFacts(home)
    const result = home.run(['broadcast', draft.id])
    expect(result.status).toBe(3)
    expect(result.stderr).toMatch(/^Error: refused by policy — residents-sms: SMS .* over the limit of 2/)
    expect(storeFacts(home)).toEqual(before)
    expect(twilio.requests).toHaveLength(0)
  })

  it('a 200 MB file that is one endless line: refused quickly, nothing imported', () => {
    home = makeCrierHome()
    const file = join(home.home, 'huge.csv')
    const fd = openSync(file, 'w')
    writeSync(fd, 'name,email\n"')
    const block = Buffer.alloc(1024 * 1024, 'a')
    for (let i = 0; i < 200; i++) writeSync(fd, block)
    closeSync(fd)
    const result = home.run(['subscribers', 'import', file, '--list', 'residents'])
    expect(result.status).toBe(2)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/nothing was imported/)
    expect(storeFacts(home).integrity).toBe('ok')
  })
})
