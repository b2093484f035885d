import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {acceptedMessages, twilioPlan} from '../fakes/twilio-plan.js'
import {explain} from '../helpers/cli-assertions.js'
import {jsonOf, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {startGatedFake, type GatedFake} from '../helpers/gated-fake.js'
import {importRecorder, runInPty, stripEscapes, type PtyRun} from '../helpers/pty.js'
import {makeWorld} from '../helpers/world.js'

// The live view under a real pseudo-terminal (node-pty): the built CLI as an officer runs it,
// keys typed into it, against provider fakes whose answers wait behind a gate the test opens,
// so every step is reached by what the screen shows, never by guessing at timings.

let home: CrierHome | undefined
let fake: GatedFake | undefined
let child: PtyRun | undefined
const cleanups: Array<() => void> = []
afterEach(async () => {
  if (child) {
    child.kill('SIGKILL')
    await child.exited
  }
  child = undefined
  await fake?.close()
  fake = undefined
  home?.cleanup()
  home = undefined
  for (const cleanup of cleanups.splice(0)) cleanup()
})

const headline = 'Evacuate Llandudno seafront now'

/** A webhook answer by path: /hooks/refuse gets the hostile 500, every other path 200. */
function webhookPlan(hostileBody: string) {
  return (request: {path: string; index: number}) =>
    request.path === '/hooks/refuse'
      ? {status: 500, headers: {'Content-Type': 'text/plain'}, body: hostileBody}
      : {status: 200, headers: {'Content-Type': 'application/json'}, body: JSON.stringify({id: `hook-${request.index}`})}
}

/** A Severe announcement to three channels (two webhooks on the fake, a feed), approved by someone else. */
function severeBroadcast(h: CrierHome, url: string): string {
  h.writeConfig(`channels:
  partners: {type: webhook, url: "${url}/hooks/partners"}
  county: {type: webhook, url: "${url}/hooks/refuse", maxAttempts: 2, retryBase: 10ms}
  website: {type: feed, dir: ./public}
`)
  const draft = jsonOf(h.run(['draft', `${headline}: flood water rising fast.`, '--headline', headline, '--severity', 'Severe', '--channel', 'partners,county,website', '--json']))
  const approved = h.run(['approve', draft.id], {env: {CRIER_USER: 'sgt.other'}})
  expect(approved.status, explain(approved)).toBe(0)
  return draft.id as string
}

/** An SMS broadcast to 120 subscribers through a Twilio-shaped fake behind a closed gate (concurrency 2). */
async function smsBroadcast(): Promise<{recipients: number; draftId: string}> {
  const accountSid = 'AC' + '1'.repeat(32)
  const authToken = 'twilio-token-for-live-view-3e1f'
  fake = await startGatedFake(twilioPlan({accountSid, authToken}))
  home = makeCrierHome()
  Object.assign(home.env, {TWILIO_AUTH_TOKEN: authToken})
  home.writeConfig(`defaultRegion: GB
channels:
  residents-sms: {type: sms, accountSid: "${accountSid}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "+447700900999", baseUrl: "${fake.url}", audience: residents, concurrency: 2}
`)
  const recipients = 120
  const csv = join(home.home, 'residents.csv')
  writeFileSync(csv, ['name,phone', ...Array.from({length: recipients}, (_, i) => `Resident ${i},+4477009${String(i).padStart(5, '0')}`)].join('\n') + '\n')
  expect(home.run(['subscribers', 'import', csv, '--list', 'residents']).status).toBe(0)
  const draft = jsonOf(home.run(['draft', 'Water supply restored in Llandudno.', '--severity', 'Minor', '--channel', 'residents-sms', '--json']))
  return {recipients, draftId: draft.id as string}
}

describe('crier broadcast on a terminal', () => {
  it('renders, updates as deliveries land, resizes, and exits 4 when one ends dead; hostile provider text never reaches the terminal', async () => {
    const hostile = '\u001b]0;pwned\u0007\u001b[5n\u001b[?1049hserver \u001b[31mon fire\u0007 \u009b6n'
    fake = await startGatedFake(webhookPlan(hostile))
    home = makeCrierHome()
    const id = severeBroadcast(home, fake.url)
    const imports = importRecorder()
    cleanups.push(imports.cleanup)
    const env = {...home.env}
    delete env.NO_COLOR
    child = runInPty(['broadcast', id], {env, nodeArgs: imports.nodeArgs})

    // First frames: the feed is done at once; both webhooks wait behind the gate.
    await child.waitFor(/SEVERE {2}Evacuate Llandudno seafront now/)
    await child.waitFor(/sending · 1 of 3 final · 2 pending/)
    expect(child.text()).toMatch(/✓ website +sent 1\/1/)
    expect(child.text()).toMatch(/q detach · r retry dead \(none now\) · Ctrl-C stop/)
    // The severity in its colour (orange, as 256 colours show it), with its word.
    expect(child.output()).toMatch(/\u001b\[1m\u001b\[38;5;2\d\dmSEVERE/)
    for (let i = 0; i < 1000 && fake.held() < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(fake.held()).toBe(2)

    // A narrower terminal: every line drawn after the resize fits it.
    const before = child.output().length
    child.resize(40, 24)
    await child.waitFor(/sending · 1 of 3 final · 2 pending[\s\S]*sending · 1 of 3 final/)
    for (let i = 0; i < 200 && stripEscapes(child.output().slice(before)).split('\n').length < 5; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    const afterResize = stripEscapes(child.output().slice(before)).split('\n')
    expect(afterResize.length).toBeGreaterThanOrEqual(5)
    for (const line of afterResize) expect(Array.from(line).length, line).toBeLessThanOrEqual(40)

    // Back to 80 columns for the rest, so the last frame's lines are whole.
    child.resize(80, 24)
    fake.open()
    const {exitCode} = await child.exited
    const text = child.text()
    expect(exitCode, text).toBe(4)
    expect(text).toMatch(/all 3 final · 2 sent · 1 needs attention/)
    expect(text).toMatch(/✓ partners +sent 1\/1/)
    expect(text).toMatch(/✗ county +sent 0\/1, dead 1/)
    // The summary after the view, on stdout, fitted to the 80 columns.
    expect(text).toMatch(/^county +sent 0\/1 {2}dead 1 {3}\(1 retry: gave up after 2 attempts: HTTP 500:\nserver on fire\)$/m)
    expect(text).toMatch(/^1 delivery needs attention \(dead, unknown or expired\):\s+crier status [0-9A-Z]{12}\.$/m)
    // The provider's escape sequences were stripped before anything was drawn.
    const raw = child.output()
    expect(raw).not.toContain('pwned')
    expect(raw).not.toContain('\u001b]0;')
    expect(raw).not.toContain('\u001b[5n')
    expect(raw).not.toContain('\u001b[?1049h')
    expect(raw).not.toContain('\u0007')
    expect(raw).not.toContain('\u009b')
    // The live view is what loads Ink (from node_modules, or bundled into ink-app.js by the build).
    expect(imports.loaded().some((url) => url.endsWith('/dist/src/views/live/ink-app.js'))).toBe(true)
  })

  it('q mid-broadcast asks, then leaves every undelivered delivery queued; crier run then sends each exactly once', async () => {
    const {recipients, draftId} = await smsBroadcast()
    child = runInPty(['broadcast', draftId], {env: home!.env})
    await child.waitFor(/MINOR {2}Water supply restored in Llandudno\./)
    await child.waitFor(/residents-sms/)
    // Two sends in flight (the channel's concurrency), held by the fake!.
    for (let i = 0; i < 1000 && fake!.held() < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(fake!.held()).toBe(2)

    child.write('q')
    await child.waitFor(/y\/n/)
    expect(child.text().replace(/\s+/g, ' ')).toContain('Detach? 120 not sent yet: sends already in flight finish, the rest stay queued for crier run or a worker. y/n')
    // Asking stopped nothing: the two are still held, nothing more went out.
    expect(fake!.requests.length).toBe(2)
    child.write('y')
    await child.waitFor(/Detaching: sends in flight finish/)
    fake!.open()
    const {exitCode} = await child.exited
    const text = child.text()
    expect(exitCode, text).toBe(0)
    expect(text).toMatch(/Detached: 118 deliveries stay queued; crier run or a worker will send them\./)
    expect(text).toMatch(/^118 deliveries still pending: crier run or a worker will send them/m)

    const db = home!.db()
    const states = Object.fromEntries((db.prepare('SELECT state, count(*) AS n FROM delivery GROUP BY state').all() as Array<{state: string; n: number}>).map((row) => [row.state, row.n]))
    const unsentAttempts = db.prepare(`SELECT count(*) FROM delivery WHERE state = 'queued' AND attempts > 0`).pluck().get()
    db.close()
    // Nothing lost, nothing left in doubt: two sent, the rest queued with their attempts unspent.
    expect(states).toEqual({sent: 2, queued: 118})
    expect(unsentAttempts).toBe(0)
    expect(fake!.requests.length).toBe(2)

    const run = await home!.runAsync(['run'])
    expect(run.status, explain(run)).toBe(0)
    const accepted = acceptedMessages(fake!.requests)
    expect(accepted.length).toBe(recipients)
    expect(new Set(accepted.map((message) => message.To)).size).toBe(recipients)
    expect(fake!.requests.length).toBe(recipients)
  })
})

describe('Ctrl-C in the live view', () => {
  it('stops claiming as a signal would: in-flight sends finish, the rest stays queued, exit 130', async () => {
    const {draftId} = await smsBroadcast()
    const env = {...home!.env}
    delete env.NO_COLOR
    child = runInPty(['broadcast', draftId, '--no-color'], {env})
    await child.waitFor(/q detach · r retry dead \(none now\) · Ctrl-C stop/)
    for (let i = 0; i < 1000 && fake!.held() < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    // Raw mode: Ctrl-C arrives as a key, not as SIGINT from the terminal.
    child.write('\u0003')
    await child.waitFor(/Stopping: finishing sends in flight; the rest stays queued for crier run\./)
    await child.waitFor(/Ctrl-C again aborts the sends in flight/)
    fake!.open()
    const {exitCode} = await child.exited
    expect(exitCode, child.text()).toBe(130)
    expect(child.text()).toMatch(/Stopped: 118 deliveries stay queued; crier run or a worker will send them\./)
    const db = home!.db()
    const states = Object.fromEntries((db.prepare('SELECT state, count(*) AS n FROM delivery GROUP BY state').all() as Array<{state: string; n: number}>).map((row) => [row.state, row.n]))
    db.close()
    expect(states).toEqual({sent: 2, queued: 118})
    // --no-color: not one colour or style sequence, on a terminal that shows 256 colours.
    expect(child.output()).not.toMatch(/\u001b\[[0-9;]*m/)
  })
})

describe('crier status ID --watch on a terminal', () => {
  it('follows a broadcast another process sends; r requeues a dead delivery; escape sequences in stored errors never reach the screen; q quits', async () => {
    home = makeCrierHome()
    const config = `channels:
  partners: {type: webhook, url: "http://127.0.0.1:9/hooks/a"}
  county: {type: webhook, url: "http://127.0.0.1:9/hooks/b"}
  x: {type: webhook, url: "http://127.0.0.1:9/hooks/c"}
`
    home.writeConfig(config)
    // Queued in-process, with errors as raw as any provider could send, written straight to
    // the store (a driver strips them; the view must not rely on that).
    const world = makeWorld(config, {}, home.home)
    const hostile = '\u001b]0;pwned\u0007\u001b[2J\u001b[5nboom'
    let id: string
    try {
      ;[id] = world.queue(1, {severity: 'Moderate', text: 'Boil water notice for Conwy.'}) as [string]
      const now = Date.now()
      for (const channel of ['county', 'x']) {
        const [claimed] = world.store.transaction(() => world.store.deliveries.claimDue({channel, owner: 'gone:1:dead', now, leaseUntil: now + 60_000, limit: 1}))
        if (channel === 'county') {
          world.store.transaction(() => world.store.deliveries.recordResults([{id: claimed!.id, owner: 'gone:1:dead', startedAt: now, durationMs: 1, outcome: 'transient', nextState: 'dead', error: `gave up: ${hostile}`}], now))
        } else {
          world.store.deliveries.markUnknown(claimed!.id, 'gone:1:dead', `lost: ${hostile}`, now)
        }
      }
    } finally {
      world.close()
    }

    child = runInPty(['status', id!, '--watch'], {env: home.env})
    await child.waitFor(/MODERATE {2}Boil water notice for Conwy\./)
    await child.waitFor(/q quit · r retry 1 dead/)
    expect(child.text()).toMatch(/✗ x +sent 0\/1, unknown 1 — last error: lost: boom$/m)
    expect(child.text()).toMatch(/✗ county +sent 0\/1, dead 1 — last error: gave up: boom$/m)

    child.write('r')
    await child.waitFor(/Requeued 1 dead delivery \(county 1\); whoever is sending picks them up\./)
    const db = home.db()
    expect(db.prepare(`SELECT state FROM delivery WHERE channel = 'county'`).pluck().get()).toBe('queued')
    db.close()
    // county is pending again: back in the live region.
    await child.waitFor(/sending · 1 of 3 final · 2 pending · 1 needs attention/)

    child.write('q')
    const {exitCode} = await child.exited
    expect(exitCode, child.text()).toBe(4)
    expect(child.text()).toMatch(/Stopped watching: 2 deliveries still pending; the broadcast goes on\./)
    const raw = child.output()
    expect(raw).not.toContain('pwned')
    expect(raw).not.toContain('\u001b]0;')
    expect(raw).not.toContain('\u001b[5n')
    expect(raw).not.toContain('\u0007')
    // NO_COLOR (set in the test home's environment): no colour or style sequences at all.
    expect(raw).not.toMatch(/\u001b\[[0-9;]*m/)
  })
})
