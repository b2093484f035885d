import {spawn} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterEach, describe, expect, it} from 'vitest'
import {slow, startProviderFake} from '../fakes/provider-server.js'
import {crierBin, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {killSpawned, spawnCrier, waitFor} from '../helpers/spawn-crier.js'

// What cron mails is crier run's stderr: every delivery that ended needing a person must be on
// it, whichever pass ended it — a send, the expiry sweep, or the in-doubt recovery.

let home: CrierHome | undefined
afterEach(() => {
  home?.cleanup()
  home = undefined
})

describe('crier run reports what needs a person', () => {
  it('deliveries that expired while queued: exit 4 and a line each, the first ten per channel, then how many more', async () => {
    home = makeCrierHome()
    // Never contacted: everything expires before the run.
    home.writeConfig(`channels:\n  residents-email: {type: email, smtp: "smtp://127.0.0.1:9", from: "Alerts <alerts@example.org>", audience: residents}\n`)
    home.run(['list'])
    const db = home.db()
    const add = db.prepare(`INSERT INTO subscriber (list, email, created_at, updated_at) VALUES ('residents', ?, 0, 0)`)
    for (let i = 0; i < 15; i++) add.run(`resident${i}@example.org`)
    db.close()
    const queued = home.run(['broadcast', '-', '--severity', 'Minor', '--headline', 'Bins', '--channel', 'residents-email', '--expires', '+2s', '--no-wait'], {input: 'Bins are collected on Tuesday.'})
    expect(queued.status).toBe(0)
    await sleep(2200)
    const run = await home.runAsync(['run'])
    expect(run.status).toBe(4)
    expect(run.stdout).toBe('')
    const lines = run.stderr.trim().split('\n')
    expect(lines).toHaveLength(11)
    for (const line of lines.slice(0, 10)) expect(line).toMatch(/^crier: residents-email delivery \S+ expired: announcement expired before it could be sent$/)
    expect(lines[10]).toBe('crier: … and 5 more expired on residents-email (crier status shows them)')

    // The shift-start dashboard shows it among what needs attention.
    expect(home.run(['status']).stdout).toMatch(/^ {2}EXPIRED 15 on residents-email {2}\w+ {2}Minor .*, e\.g\. announcement expired before it could be sent — crier status \w+$/m)

    // It reached no one: expired, not "sent" — and crier says what to do instead, not to edit it.
    const id = (JSON.parse(home.run(['list', '--json']).stdout) as Array<{id: string; state: string}>)[0]!
    expect(id.state).toBe('expired')
    const update = home.run(['update', id.id, 'Bins are collected on Wednesday.'])
    expect(update.status).toBe(3)
    expect(update.stderr).toMatch(/^Error: cannot update \w+ — it reached no one \(crier status \w+ says why\); send what it should say as a new announcement: crier draft …\n$/)
  })
})

describe('crier run and a channel that left the config', () => {
  it('says its queued deliveries wait for it (exit 1, one line), and sends them once it is back', async () => {
    home = makeCrierHome()
    const withWebsite = `channels:\n  website: {type: feed, dir: ./public}\n  notices: {type: feed, dir: ./notices}\n`
    home.writeConfig(withWebsite)
    expect(home.run(['broadcast', '-', '--severity', 'Minor', '--headline', 'Library', '--channel', 'notices', '--no-wait'], {input: 'The library closes at noon.'}).status).toBe(0)
    home.writeConfig(`channels:\n  website: {type: feed, dir: ./public}\n`)
    const run = await home.runAsync(['run'])
    expect(run.status).toBe(1)
    expect(run.stderr).toMatch(/^Error: notices cannot send: it is not in \S+config\.yaml \(removed or renamed\?\); put it back, or cancel the announcements waiting for it — its deliveries stay queued; once it is fixed, crier run sends them\n$/)
    home.writeConfig(withWebsite)
    const back = await home.runAsync(['run'])
    expect(back.status).toBe(0)
    expect(back.stderr).toBe('')
    expect((JSON.parse(home.run(['list', '--json']).stdout) as Array<{state: string}>)[0]!.state).toBe('sent')
  })
})

describe('crier run and a provider that asked it to wait', () => {
  it('says the channel is paused and until when, not a quiet exit 0 while an alert waits', async () => {
    const fake = await startProviderFake({plan: () => ({status: 429, headers: {'Retry-After': '3600'}, body: 'slow down'})})
    try {
      home = makeCrierHome()
      home.writeConfig(`timezone: Europe/London\nchannels:\n  partners: {type: webhook, url: "${fake.url}/hooks"}\n`)
      expect(home.run(['broadcast', '-', '--severity', 'Minor', '--channel', 'partners', '--no-wait'], {input: 'Road closed at J11.'}).status).toBe(0)
      const run = await home.runAsync(['run'])
      expect(run.status).toBe(0)
      expect(run.stderr).toMatch(/^crier: partners is paused until \w{3} \d+ \w{3} \d{4} \d\d:\d\d(:\d\d)? GMT \(.*429.*\); its queued deliveries wait for a later run\n$/)
      expect(fake.requests).toHaveLength(1)
      // The next run says so again, sending nothing before the provider's time; so does status.
      const again = await home.runAsync(['run'])
      expect(again.stderr).toContain('crier: partners is paused until')
      expect(fake.requests).toHaveLength(1)
      const id = (JSON.parse(home.run(['list', '--json']).stdout) as Array<{id: string}>)[0]!.id
      expect(home.run(['status', id]).stderr).toMatch(/^Note: partners is paused until .+ GMT \(.*429.*\): what waits goes after that\n$/)
    } finally {
      await fake.close()
    }
  })
})

describe('crier run and a channel whose settings are wrong', () => {
  it('leaves that channel out and delivers the rest: a secret missing from cron’s environment holds back nothing else', async () => {
    home = makeCrierHome()
    home.writeConfig(`channels:\n  website: {type: feed, dir: ./public}\n  texts: {type: sms, accountSid: "AC${'1'.repeat(32)}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "+447700900999", baseUrl: "http://127.0.0.1:9", audience: residents}\n`)
    const withToken = {TWILIO_AUTH_TOKEN: 'tok-present-123'}
    expect(home.run(['broadcast', '-', '--severity', 'Minor', '--headline', 'Flood', '--channel', 'website', '--no-wait'], {input: 'Flood warning for the Conwy.', env: withToken}).status).toBe(0)
    // Without the variable, where an officer types, it is listed as unable to send from there…
    const typed = home.run(['channels', 'list'])
    expect(typed.status).toBe(0)
    expect(typed.stderr).toMatch(/^Note: texts cannot send from this shell: config\.yaml: channels\.texts\.authToken: environment variable TWILIO_AUTH_TOKEN is not set/)
    // …but a run delivers the website, and says what it left out.
    const run = await home.runAsync(['run'])
    expect(run.status).toBe(0)
    expect(run.stderr).toBe('crier: config.yaml: channels.texts.authToken: environment variable TWILIO_AUTH_TOKEN is not set — export it before running crier — texts is left out until that is fixed\n')
    expect((JSON.parse(home.run(['list', '--json']).stdout) as Array<{state: string}>)[0]!.state).toBe('sent')
  })
})

describe('crier run whose reader went away', () => {
  it('a closed stderr pipe (crier run 2>&1 | head -1) does not end the pass: every result is recorded, nothing left sending', async () => {
    home = makeCrierHome()
    home.writeConfig(`channels:\n  a: {type: webhook, url: "http://127.0.0.1:9/a", maxAttempts: 1}\n  b: {type: webhook, url: "http://127.0.0.1:9/b", maxAttempts: 1}\n`)
    for (let i = 0; i < 5; i++) expect(home.run(['broadcast', '-', '--severity', 'Minor', '--channel', 'a,b', '--no-wait'], {input: `Notice ${i}.`}).status).toBe(0)
    const child = spawn(process.execPath, [crierBin, 'run'], {env: home.env, stdio: ['ignore', 'ignore', 'pipe']})
    // The reader takes the first line and goes away, as head does.
    child.stderr.once('data', () => child.stderr.destroy())
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    expect(code).toBe(4)
    const db = home.db()
    try {
      expect(db.prepare('SELECT state, count(*) AS n FROM delivery GROUP BY state').all()).toEqual([{state: 'dead', n: 10}])
    } finally {
      db.close()
    }
  })
})

describe('crier status after a crier died mid-send', () => {
  it('says its deliveries are in doubt until the next run settles them, not simply pending', async () => {
    const fake = await startProviderFake({plan: slow(10_000)})
    try {
      home = makeCrierHome()
      home.writeConfig(`channels:\n  partners: {type: webhook, url: "${fake.url}/hooks"}\n`)
      const queued = home.run(['broadcast', '-', '--severity', 'Minor', '--channel', 'partners', '--no-wait', '--json'], {input: 'Road closed at J11.'})
      const id = JSON.parse(queued.stdout).announcement.id as string
      const run = spawnCrier(home, ['run'])
      await waitFor('the send to be on the wire', () => fake.requests.length === 1, 15_000)
      run.child.kill('SIGKILL')
      await run.exit
      const status = home.run(['status', id])
      expect(status.stdout).toContain('1 delivery in doubt: a crier stopped while sending them. The next crier run settles them')
      expect(status.stdout).not.toContain('still pending')
      expect(JSON.parse(home.run(['status', id, '--json']).stdout)).toMatchObject({pending: 1, abandoned: 1})
    } finally {
      await killSpawned()
      await fake.close()
    }
  })
})
