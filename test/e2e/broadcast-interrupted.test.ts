import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import Database from 'better-sqlite3'
import {afterEach, describe, expect, it} from 'vitest'
import {acceptedMessages, twilioPlan} from '../fakes/twilio-plan.js'
import {explain} from '../helpers/cli-assertions.js'
import {jsonOf, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {closedAfterEach} from '../helpers/closed-after-each.js'
import {startGatedFake, type GatedFake} from '../helpers/gated-fake.js'
import {killSpawned, spawnCrier, waitFor, type SpawnedCrier} from '../helpers/spawn-crier.js'

// A waiting broadcast stopped by what happens around it: a signal while it is still queueing,
// another officer's cancel while it sends. Neither ends in silence, nor in exit 0 for a message
// that is not out.

const opened = closedAfterEach()
afterEach(killSpawned)

const accountSid = 'AC' + '2'.repeat(32)
const authToken = 'twilio-token-for-interrupts-7c1d'

/** An SMS channel with `recipients` subscribers behind a gated Twilio-shaped fake (concurrency 1), and a Minor draft to it. */
async function smsDraft(recipients: number): Promise<{h: CrierHome; fake: GatedFake; id: string}> {
  const fake = opened(await startGatedFake(twilioPlan({accountSid, authToken})))
  const h = opened(makeCrierHome())
  Object.assign(h.env, {TWILIO_AUTH_TOKEN: authToken})
  h.writeConfig(`defaultRegion: GB
channels:
  residents-sms: {type: sms, accountSid: "${accountSid}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "+447700900999", baseUrl: "${fake.url}", audience: residents, concurrency: 1}
`)
  const csv = join(h.home, 'residents.csv')
  writeFileSync(csv, ['name,phone', ...Array.from({length: recipients}, (_, i) => `Resident ${i},+4477009${String(i).padStart(5, '0')}`)].join('\n') + '\n')
  expect(h.run(['subscribers', 'import', csv, '--list', 'residents']).status).toBe(0)
  const draft = jsonOf(h.run(['draft', 'Water supply restored in Llandudno.', '--severity', 'Minor', '--channel', 'residents-sms', '--json']))
  return {h, fake, id: draft.id as string}
}

/**
 * Starts the commands while another connection holds the database's write lock, waits until each
 * says it waits for it, runs `meanwhile` (a signal, say), then lets the lock go.
 */
async function startedBehindLock(h: CrierHome, commands: Array<{args: string[]; input?: string}>, meanwhile: (started: SpawnedCrier[]) => void = () => {}): Promise<SpawnedCrier[]> {
  const holder = new Database(join(h.home, 'crier.db'))
  holder.exec('BEGIN IMMEDIATE')
  try {
    const started = commands.map(({args, input}) => spawnCrier(h, args, [], input))
    await waitFor('each command to wait for the database', () => started.every((one) => /waiting for another crier/i.test(one.stderr())), 20_000)
    meanwhile(started)
    return started
  } finally {
    holder.exec('COMMIT')
    holder.close()
  }
}

describe('a waiting broadcast, interrupted', () => {
  it('a SIGINT while it queues takes effect once the queueing has committed: it says so, and what stays queued, exit 130', async () => {
    const {h, fake, id} = await smsDraft(5)
    // Another crier holds the database: the broadcast waits in its queueing transaction.
    const broadcast = (await startedBehindLock(h, [{args: ['broadcast', id]}], ([one]) => one!.child.kill('SIGINT')))[0]!
    const {code} = await broadcast.exit
    expect(code, broadcast.stderr()).toBe(130)
    expect(broadcast.stderr()).toMatch(/^Stopping \(SIGINT\): finishing sends in flight; the rest stays queued for crier run\./m)
    expect(broadcast.stdout()).toMatch(/^5 deliveries still pending: crier run or a worker will send them/m)
    // Nothing went out; everything is queued, none half-sent.
    expect(fake.requests.length).toBe(0)
    const db = h.db()
    expect(db.prepare('SELECT state, count(*) AS n FROM delivery GROUP BY state').all()).toEqual([{state: 'queued', n: 5}])
    db.close()
  })

  it('--no-wait: a SIGTERM while it queues is heard, so it finishes the queueing and names what it queued, exit 0 — never queued in silence', async () => {
    const {h, fake, id} = await smsDraft(3)
    const broadcast = (await startedBehindLock(h, [{args: ['broadcast', id, '--no-wait']}], ([one]) => one!.child.kill('SIGTERM')))[0]!
    const {code} = await broadcast.exit
    expect(code, broadcast.stderr()).toBe(0)
    expect(broadcast.stdout()).toMatch(new RegExp(`^Queued ${id.slice(0, 12)}: 3 deliveries\\.`, 'm'))
    expect(fake.requests.length).toBe(0)
    const db = h.db()
    expect(db.prepare('SELECT state, count(*) AS n FROM delivery GROUP BY state').all()).toEqual([{state: 'queued', n: 3}])
    db.close()
  })

  it('draft -: a SIGTERM while it saves is heard, so it saves and names the draft, exit 0', async () => {
    const {h} = await smsDraft(0)
    const draft = (await startedBehindLock(h, [{args: ['draft', '-', '--severity', 'Minor', '--channel', 'residents-sms'], input: 'Road closed at Betws-y-Coed.'}], ([one]) => one!.child.kill('SIGTERM')))[0]!
    const {code} = await draft.exit
    expect(code, draft.stderr()).toBe(0)
    const named = /^Draft (\w{12}) created/m.exec(draft.stdout())
    expect(named, draft.stdout()).not.toBeNull()
    const db = h.db()
    expect(db.prepare(`SELECT count(*) FROM announcement WHERE id LIKE ? || '%'`).pluck().get(named![1]!.toUpperCase())).toBe(1)
    db.close()
  })

  it('two broadcasts of one announcement at once: one queues it, the other finds it queued and resumes — neither is refused', async () => {
    const {h, fake, id} = await smsDraft(3)
    const both = await startedBehindLock(h, [{args: ['broadcast', id, '--no-wait']}, {args: ['broadcast', id, '--no-wait']}])
    const codes = await Promise.all(both.map(async (one) => (await one.exit).code))
    expect(codes, both.map((one) => one.stderr()).join('\n')).toEqual([0, 0])
    const said = both.map((one) => one.stdout() + one.stderr()).join('\n')
    expect(said).toMatch(new RegExp(`^Queued ${id.slice(0, 12)}: 3 deliveries\\.`, 'm'))
    expect(said).toMatch(new RegExp(`^${id.slice(0, 12)} was queued already and is not queued twice`, 'm'))
    expect(fake.requests.length).toBe(0)
    const db = h.db()
    expect(db.prepare('SELECT state, count(*) AS n FROM delivery GROUP BY state').all()).toEqual([{state: 'queued', n: 3}])
    db.close()
  })

  it('cancelled by another officer while it sends: what was not sent is named, exit 4 — not 0 for a message that is not out', async () => {
    const {h, fake, id} = await smsDraft(6)
    const broadcast = spawnCrier(h, ['broadcast', id])
    // The first text is on the wire, held by the fake; the rest wait their turn (concurrency 1).
    await waitFor('the first text to be in flight', () => fake.held() === 1, 20_000)
    const cancel = await h.runAsync(['cancel', id, '--no-wait'], {env: {CRIER_USER: 'sgt.other'}})
    expect(cancel.status, explain(cancel)).toBe(0)
    fake.open()
    const {code} = await broadcast.exit
    expect(code, broadcast.stderr() + broadcast.stdout()).toBe(4)
    expect(broadcast.stderr()).toMatch(/^5 deliveries of \w{12} were not sent: it was cancelled or updated while it was being sent \(crier show \w{12}\)\.$/m)
    expect(acceptedMessages(fake.requests).filter((message) => (message.Body ?? '').includes('Water supply restored')).length).toBe(1)
  })
})
