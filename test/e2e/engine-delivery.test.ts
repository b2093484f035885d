import {spawn} from 'node:child_process'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterEach, describe, expect, it} from 'vitest'
import {alwaysOk, faultMix, slow, startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {startGatedFake} from '../helpers/gated-fake.js'
import {crierBin, makeCrierHome, storeFacts, type CliResult, type CrierHome} from '../helpers/cli.js'
import {makeWorld, type World} from '../helpers/world.js'

// The delivery engine through the built CLI, as cron runs it: real processes, real HTTP on
// loopback, real SQLite, and kill -9.

let home: CrierHome | undefined
let world: World | undefined
let fake: ProviderFake | undefined
afterEach(async () => {
  world?.close()
  world = undefined
  home?.cleanup()
  home = undefined
  await fake?.close()
  fake = undefined
})

function webhookConfig(url: string, overrides: Record<string, string | number> = {}): string {
  const settings = {retryBase: '20ms', retryCap: '200ms', timeout: '2s', ...overrides}
  const extra = Object.entries(settings).map(([key, value]) => `, ${key}: ${value}`).join('')
  return `channels:\n  partners: {type: webhook, url: "${url}/hooks/alerts", secret: "\${PARTNERS_HMAC}"${extra}}\n`
}
const secretEnv = {PARTNERS_HMAC: 'hmac-secret-for-tests-5b1f'}

/** Prepares a CLI home whose queue holds `count` webhook deliveries (queued in-process). */
function queueFor(yaml: string, count: number): {home: CrierHome; world: World; ids: string[]} {
  const h = makeCrierHome()
  h.writeConfig(yaml)
  Object.assign(h.env, secretEnv)
  const w = makeWorld(yaml, secretEnv, h.home)
  const ids = w.queue(count)
  w.close()
  return {home: h, world: w, ids}
}

function deliveryRows(h: CrierHome): Array<{id: string; state: string; last_error: string | null}> {
  const db = h.db()
  try {
    return db.prepare('SELECT id, state, last_error FROM delivery ORDER BY id').all() as Array<{id: string; state: string; last_error: string | null}>
  } finally {
    db.close()
  }
}

describe('crier run against a faulty webhook', () => {
  it('delivers 1,000 through 503s, 429s and resets: all sent, none accepted twice, Retry-After obeyed, a 400 dead', async () => {
    fake = await startProviderFake()
    const prepared = queueFor(webhookConfig(fake.url, {concurrency: 16, maxAttempts: 12}), 1000)
    home = prepared.home
    // One announcement's text is refused by the partner: that one must end dead with the reason.
    const doomed = prepared.ids[500]!
    fake.respondWith(
      faultMix({seed: 42, fail503Rate: 0.2, rateLimitAt: [150, 700], retryAfterSeconds: 2, resetAt: [40, 41, 400, 900], badRequestWhen: (body) => body.includes(doomed)}),
    )
    const result = await home.runAsync(['run'])
    expect(result.stderr).toMatch(/partners delivery \S+ dead: HTTP 400: \{"error":"bad request"\}/)
    expect(result.status).toBe(4)

    const rows = deliveryRows(home)
    expect(rows.length).toBe(1000)
    expect(rows.filter((r) => r.state === 'sent').length).toBe(999)
    const dead = rows.filter((r) => r.state === 'dead')
    expect(dead.length).toBe(1)
    expect(dead[0]!.last_error).toBe('HTTP 400: {"error":"bad request"}')

    // Every delivery accepted exactly once by its Idempotency-Key.
    const accepted = fake.requests.filter((r) => r.status === 200).map((r) => r.headers['idempotency-key'] as string)
    expect(accepted.length).toBe(999)
    expect(new Set(accepted).size).toBe(999)
    expect(fake.requests.distinct('idempotency-key').size).toBe(1000)
    // Every request was signed with the channel secret.
    expect(fake.requests.every((r) => typeof r.headers['x-crier-signature'] === 'string' && (r.headers['x-crier-signature'] as string).startsWith('sha256='))).toBe(true)

    // After each 429 (Retry-After: 2) nothing reached the channel until the reset, beyond
    // requests already on the wire when the 429 was answered.
    for (const limited of fake.requests.filter((r) => r.status === 429)) {
      const during = fake.requests.filter((r) => r.receivedAt > limited.receivedAt + 100 && r.receivedAt < limited.receivedAt + 1950)
      expect(during).toEqual([])
    }
    expect(storeFacts(home).integrity).toBe('ok')
  })
})

describe('crash safety', () => {
  it('survives kill -9 five times mid-broadcast: every delivery received, 2,000 distinct keys, none left sending', async () => {
    fake = await startProviderFake({plan: slow(15)})
    const prepared = queueFor(webhookConfig(fake.url, {concurrency: 16}), 2000)
    home = prepared.home
    const seeds = [0.15, 0.6, 0.35, 0.8, 0.5]
    for (const share of seeds) {
      const child = spawn(process.execPath, [crierBin, 'run'], {env: home.env, stdio: 'ignore'})
      const before = fake.requests.length
      const target = before + Math.floor(share * 300) + 20
      // Bounded wait for the child to be mid-broadcast, then kill it without warning.
      for (let i = 0; i < 400 && fake.requests.length < target; i++) await sleep(10)
      child.kill('SIGKILL')
      await new Promise((resolve) => child.on('close', resolve))
    }
    const dbMid = home.db()
    const leftSending = dbMid.prepare(`SELECT count(*) FROM delivery WHERE state = 'sending'`).pluck().get() as number
    dbMid.close()
    expect(leftSending).toBeGreaterThan(0) // the kills did land mid-send

    const final = await home.runAsync(['run', '--verbose'])
    expect(final.status).toBe(0)
    const rows = deliveryRows(home)
    expect(rows.filter((r) => r.state === 'sent').length).toBe(2000)
    expect(rows.filter((r) => r.state === 'sending').length).toBe(0)
    expect(fake.requests.distinct('idempotency-key').size).toBe(2000)
    const received = new Set(fake.requests.map((r) => r.headers['idempotency-key']))
    for (const row of rows) expect(received.has(row.id)).toBe(true)
    expect(storeFacts(home).integrity).toBe('ok')
  })
})

describe('overlapping runs', () => {
  it('4 crier runs started together send each delivery exactly once', async () => {
    fake = await startProviderFake({plan: slow(5)})
    const prepared = queueFor(webhookConfig(fake.url, {concurrency: 8}), 600)
    home = prepared.home
    const runs = await Promise.all([1, 2, 3, 4].map(() => home!.runAsync(['run'])))
    for (const run of runs) expect(run.status).toBe(0)
    expect(fake.requests.length).toBe(600)
    expect(fake.requests.distinct('idempotency-key').size).toBe(600)
    expect(deliveryRows(home).every((r) => r.state === 'sent')).toBe(true)
  })
})

describe('expiry', () => {
  it('a delivery still failing when its announcement expires ends expired, not sent', async () => {
    fake = await startProviderFake({plan: () => ({status: 503, body: 'down'})})
    home = makeCrierHome()
    Object.assign(home.env, secretEnv)
    home.writeConfig(webhookConfig(fake.url, {maxAttempts: 100, retryBase: '200ms', retryCap: '200ms'}))
    const draft = home.run(['draft', 'Short-lived notice.', '--severity', 'Minor', '--expires', '+2s', '--json'])
    expect(draft.status).toBe(0)
    const id = JSON.parse(draft.stdout).id as string
    const result = await home.runAsync(['broadcast', id, '--json'])
    expect(result.status).toBe(4)
    const status = JSON.parse(result.stdout)
    expect(status.channels[0].expired).toBe(1)
    expect(status.announcement.state).toBe('expired')
    const expiresAt = status.announcement.expiresAt as number
    expect(fake.requests.length).toBeGreaterThan(1)
    // Every try started before the expiry (a request started a millisecond before it may
    // arrive on the expiry's millisecond: it was on the wire, not sent after).
    const db = home.db()
    const starts = db.prepare('SELECT started_at FROM attempt').pluck().all() as number[]
    db.close()
    expect(starts.length).toBe(fake.requests.length)
    for (const start of starts) expect(start).toBeLessThan(expiresAt)
    for (const request of fake.requests) expect(request.receivedAt).toBeLessThan(expiresAt + 100)
  })
})

describe('broadcast', () => {
  it('sends to every channel and reports per channel, with the feed files written', async () => {
    fake = await startProviderFake({plan: faultMix({seed: 3, fail503Rate: 0, resetAt: [0]})})
    home = makeCrierHome()
    Object.assign(home.env, secretEnv)
    home.writeConfig(`channels:\n  website: {type: feed, dir: ./public, baseUrl: "https://alerts.example/feed"}\n  partners: {type: webhook, url: "${fake.url}/hook", secret: "\${PARTNERS_HMAC}", retryBase: 10ms}\n`)
    const result = await home.runAsync(['broadcast', '-', '--severity', 'Minor', '--channel', 'website,partners', '--area', 'Llandudno'], {input: 'Water supply restored in Llandudno.'})
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/^website\s+sent 1\/1$/m)
    expect(result.stdout).toMatch(/^partners\s+sent 1\/1\s+\(1 retry: connection reset\)$/m)
    expect(result.stdout).toMatch(/website → https:\/\/alerts\.example\/feed\/cap\/\w+\.xml/)
    const body = JSON.parse(fake.requests.at(-1)!.body)
    expect(body.links[0].href).toMatch(/^https:\/\/alerts\.example\/feed\/cap\/\w+\.xml$/)
    expect(body.description).toBe('Water supply restored in Llandudno.')
  })

  /** A fresh home whose partners webhook (a fake answering 200) has one announcement queued by --no-wait. */
  async function queueOneForPartners(): Promise<{h: CrierHome; endpoint: ProviderFake; queued: CliResult}> {
    const endpoint = await startProviderFake({plan: alwaysOk()})
    const h = makeCrierHome()
    // Cleaned up after the test, as every test's.
    fake = endpoint
    home = h
    Object.assign(h.env, secretEnv)
    h.writeConfig(webhookConfig(endpoint.url))
    return {h, endpoint, queued: h.run(['broadcast', '-', '--severity', 'Minor', '--no-wait', '--json'], {input: 'Bins collected Tuesday.'})}
  }

  it('broadcast again of one left queued (stopped, or --no-wait with no worker) sends what waits, queuing nothing twice', async () => {
    const {h, endpoint, queued} = await queueOneForPartners()
    const id = JSON.parse(queued.stdout).announcement.id as string
    const again = h.run(['broadcast', id, '--no-wait'])
    expect(again.status, again.stderr).toBe(0)
    expect(again.stderr).toContain('was queued already and is not queued twice: crier run or a worker will send what still waits.')
    const resumed = await h.runAsync(['broadcast', id, '--json'])
    expect(resumed.status, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout).channels[0]).toMatchObject({channel: 'partners', sent: 1, total: 1})
    expect(endpoint.requests.length).toBe(1)
    // Sent: a broadcast now is refused as before (update or cancel it instead).
    expect(h.run(['broadcast', id]).status).toBe(3)
  })

  it('--no-wait queues and a later crier run sends', async () => {
    const {h, endpoint, queued} = await queueOneForPartners()
    expect(queued.status).toBe(0)
    expect(JSON.parse(queued.stdout).pending).toBe(1)
    expect(endpoint.requests.length).toBe(0)
    const run = await h.runAsync(['run'])
    expect(run.status).toBe(0)
    expect(run.stdout).toBe('') // cron stays quiet on success
    expect(endpoint.requests.length).toBe(1)
    const id = JSON.parse(queued.stdout).announcement.id
    const status = h.run(['status', id, '--json'])
    expect(JSON.parse(status.stdout).channels[0]).toMatchObject({channel: 'partners', sent: 1, total: 1})
  })

  it('--dry-run checks and renders but writes and sends nothing', async () => {
    fake = await startProviderFake({plan: alwaysOk()})
    home = makeCrierHome()
    Object.assign(home.env, secretEnv)
    home.writeConfig(webhookConfig(fake.url))
    const result = home.run(['broadcast', '-', '--severity', 'Minor', '--dry-run', '--json'], {input: 'Test of the dry run.'})
    expect(result.status).toBe(0)
    expect(JSON.parse(result.stdout).dryRun).toBe(true)
    expect(storeFacts(home)).toEqual({integrity: 'ok', announcements: 0, deliveries: 0})
    expect(fake.requests.length).toBe(0)
  })

  it('a dry run of broadcast - names no id (nothing was drafted); one of an existing announcement names it', async () => {
    fake = await startProviderFake({plan: alwaysOk()})
    home = makeCrierHome()
    Object.assign(home.env, secretEnv)
    home.writeConfig(webhookConfig(fake.url))
    const text = home.run(['broadcast', '-', '--severity', 'Minor', '--dry-run'], {input: 'Test of the dry run.'})
    expect(text.status).toBe(0)
    expect(text.stdout).toBe('Dry run: it would go to partners; nothing was written or sent.\n')
    const json = JSON.parse(home.run(['broadcast', '-', '--severity', 'Minor', '--dry-run', '--json'], {input: 'Test of the dry run.'}).stdout)
    expect(json.announcement).toMatchObject({id: null, shortId: null, state: null, issuedAt: null, channels: ['partners']})
    expect(json.wouldGoTo).toEqual(['partners'])
    expect(json).not.toHaveProperty('channels')
    // A warning's hint names no id either: nothing was saved to edit.
    const far = home.run(['broadcast', '-', '--severity', 'Minor', '--expires', '+30d', '--dry-run'], {input: 'Test of the dry run.'})
    expect(far.status).toBe(0)
    expect(far.stderr).toMatch(/^Policy warning: expires .+ — check the date, or set an earlier one: --expires …$/m)
    expect(far.stderr).not.toMatch(/[0-9A-Z]{12}/)
    expect(storeFacts(home)).toEqual({integrity: 'ok', announcements: 0, deliveries: 0})
    const id = JSON.parse(home.run(['draft', 'Road closed at Junction 11.', '--severity', 'Minor', '--json']).stdout).id as string
    const existing = home.run(['broadcast', id, '--dry-run'])
    expect(existing.stdout).toBe(`Dry run: ${id.slice(0, 12)} would go to partners; nothing was written or sent.\n`)
    expect(JSON.parse(home.run(['broadcast', id, '--dry-run', '--json']).stdout).announcement).toMatchObject({id, shortId: id.slice(0, 12)})
    expect(fake.requests.length).toBe(0)
  })

  // SIGHUP: the terminal or SSH session of a foreground run went away (Node's default would kill it mid-send).
  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s stops cleanly: nothing left sending, the rest queued for crier run', async (signal, exitCode) => {
    fake = await startProviderFake({plan: slow(20)})
    const prepared = queueFor(webhookConfig(fake.url, {concurrency: 4}), 300)
    home = prepared.home
    const child = spawn(process.execPath, [crierBin, 'run'], {env: home.env, stdio: 'ignore'})
    for (let i = 0; i < 300 && fake.requests.length < 40; i++) await sleep(10)
    child.kill(signal)
    const code = await new Promise((resolve) => child.on('close', (status) => resolve(status)))
    expect(code).toBe(exitCode)
    const rows = deliveryRows(home)
    expect(rows.filter((r) => r.state === 'sending').length).toBe(0)
    const sent = rows.filter((r) => r.state === 'sent').length
    expect(sent).toBeGreaterThan(0)
    expect(sent).toBeLessThan(300)
    expect(rows.filter((r) => r.state === 'queued').length).toBe(300 - sent)
  })
})

describe('a broadcast stopped by a signal off a terminal', () => {
  // A script, systemd or a kill from another shell stopped it: Ctrl-C is no way to abort there.
  it.each(['SIGTERM', 'SIGHUP'] as const)('%s: says to send the signal again to abort, not to press Ctrl-C', async (signal) => {
    const gated = await startGatedFake(alwaysOk())
    try {
      const prepared = queueFor(webhookConfig(gated.url), 1)
      home = prepared.home
      const child = spawn(process.execPath, [crierBin, 'broadcast', prepared.ids[0]!], {env: home.env, stdio: ['ignore', 'pipe', 'pipe']})
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
      const closed = new Promise((resolve) => child.on('close', (status) => resolve(status)))
      for (let i = 0; i < 1000 && gated.held() < 1; i++) await sleep(10)
      child.kill(signal)
      for (let i = 0; i < 500 && !stderr.includes('Stopping'); i++) await sleep(10)
      gated.open()
      expect(await closed).toBe(signal === 'SIGTERM' ? 143 : 129)
      expect(stderr).toContain(`Stopping (${signal}): finishing sends in flight; the rest stays queued for crier run. Send ${signal} again to abort the sends in flight (they may end unknown).\n`)
      expect(stderr).not.toMatch(/Ctrl-C/)
    } finally {
      await gated.close()
    }
  })
})

describe('broadcast refuses bad input, queueing nothing', () => {
  function refused(h: CrierHome, args: string[], input = '', env: NodeJS.ProcessEnv = {}) {
    const before = storeFacts(h)
    const result = h.run(args, {input, env})
    const after = storeFacts(h)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toMatch(/^Error: /)
    expect(result.stderr).not.toMatch(/^\s+at /m)
    expect(after).toEqual(before)
    return result
  }

  it('an unapproved Severe announcement: exit 3', () => {
    home = makeCrierHome()
    const id = JSON.parse(home.run(['draft', 'Flood warning for the Conwy valley.', '--severity', 'Severe', '--json']).stdout).id
    const result = refused(home, ['broadcast', id])
    expect(result.status).toBe(3)
    expect(result.stderr).toMatch(/needs 1 approval/)
    const viaStdin = refused(home, ['broadcast', '-', '--severity', 'Extreme'], 'Evacuate now.')
    expect(viaStdin.status).toBe(3)
    expect(viaStdin.stderr).toMatch(/^Error: an Extreme announcement needs 1 approval before it can be sent and has 0 — nothing was saved; create it with crier draft, get it approved, then crier broadcast ID\n$/)
    // A hint never names the rolled-back draft: there is nothing to edit.
    home.writeConfig('channels:\n  website: {type: feed, dir: ./public}\npolicy:\n  content: {requireFields: [headline, area, expires]}\n')
    const missing = refused(home, ['broadcast', '-', '--severity', 'Minor', '--area', 'Bangor', '--channel', 'website'], 'Evacuate now.')
    expect(missing.stderr).toBe('Error: refused by policy — policy requires expires — add it: --expires … — nothing was saved; put that right and run it again\n')
  })

  it('fields given with an ID: exit 2 pointing to edit, nothing sent (they would have been ignored)', async () => {
    home = makeCrierHome()
    const id = JSON.parse(home.run(['draft', 'Road closed at Junction 11.', '--severity', 'Minor', '--json']).stdout).id as string
    const before = storeFacts(home)
    const result = refused(home, ['broadcast', id, '--severity', 'Extreme', '--channel', 'website'])
    expect(result.status).toBe(2)
    expect(result.stderr).toBe(`Error: --severity, --channel change a draft, not a broadcast — crier edit ${id.slice(0, 12)} --severity … --channel … first (it then needs approving again where policy says), or broadcast - to draft and send in one step\n`)
    expect(storeFacts(home)).toEqual(before)
  })

  it('text where the id goes: exit 2 saying how to draft and send in one step, nothing written', async () => {
    home = makeCrierHome()
    home.run(['draft', 'Something else.', '--severity', 'Minor'])
    for (const argv of [['broadcast', 'Road closed at Junction 11.'], ['broadcast', '--channel', 'website', 'Road closed at Junction 11.']]) {
      const result = refused(home, argv)
      expect(result.status).toBe(2)
      expect(result.stderr).toBe('Error: "Road closed at Junction 11." is not an announcement id — to draft and send text in one step, pipe it in: echo "…" | crier broadcast - --severity … --channel …\n')
    }
  })

  it('an expired announcement: exit 3', async () => {
    home = makeCrierHome()
    const id = JSON.parse(home.run(['draft', 'Brief notice.', '--severity', 'Minor', '--expires', '+1s', '--json']).stdout).id
    await sleep(1100)
    const result = refused(home, ['broadcast', id])
    expect(result.status).toBe(3)
    expect(result.stderr).toMatch(/expired/)
  })

  it('an unknown channel: exit 2, listing the configured ones', () => {
    home = makeCrierHome()
    home.run(['list']) // create the store
    const result = refused(home, ['broadcast', '-', '--severity', 'Minor', '--channel', 'nowhere'], 'Text.')
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(/channel "nowhere" is not configured — configured: website/)
  })

  it('a webhook URL that is not http(s): exit 2 naming the key', () => {
    home = makeCrierHome()
    home.run(['list'])
    home.writeConfig(`channels:\n  partners: {type: webhook, url: "ftp://partners.example/x"}\n`)
    const result = refused(home, ['broadcast', '-', '--severity', 'Minor'], 'Text.')
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(/config\.yaml: channels\.partners\.url: expected an http\(s\) URL/)
  })

  it('an HMAC secret missing from the environment: exit 2 naming the variable and key', () => {
    home = makeCrierHome()
    home.run(['list'])
    home.writeConfig(webhookConfig('http://127.0.0.1:9'))
    const result = refused(home, ['broadcast', '-', '--severity', 'Minor'], 'Text.')
    expect(result.status).toBe(2)
    expect(result.stderr).toMatch(/channels\.partners\.secret: environment variable PARTNERS_HMAC is not set/)
  })
})
