import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {afterEach, describe, expect, it} from 'vitest'
import {cronOccurrences} from '../../src/core/cron.js'
import {createDraft} from '../../src/core/drafting.js'
import {shortId} from '../../src/core/ids.js'
import {scheduleAnnouncement} from '../../src/core/scheduling.js'
import {formatInZone, parseWhen} from '../../src/core/when.js'
import {alwaysOk, faultMix, slow, startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {jsonOf, makeCrierHome, storeFacts, type CliResult, type CrierHome} from '../helpers/cli.js'
import {jsonLines, killSpawned, spawnCrier, waitFor} from '../helpers/spawn-crier.js'
import {makeWorld} from '../helpers/world.js'

// Scheduling through the built CLI, as cron and systemd run it: `crier schedule` in one process,
// `crier run` / `crier worker` in others, a real SQLite file between them and the webhook fake
// counting what arrives. Waits are polls with a bound; timings are behaviour bounds, not benchmarks.

const zone = 'Europe/London'

let home: CrierHome | undefined
let fake: ProviderFake | undefined
afterEach(async () => {
  await killSpawned()
  await fake?.close()
  fake = undefined
  home?.cleanup()
  home = undefined
})

function configFor(url: string, concurrency = 4): string {
  return `timezone: ${zone}\nchannels:\n  partners: {type: webhook, url: "${url}/hooks/alerts", concurrency: ${concurrency}, retryBase: 20ms, retryCap: 200ms, timeout: 5s}\n`
}

function prepareHome(url: string, concurrency?: number): CrierHome {
  const h = makeCrierHome()
  h.writeConfig(configFor(url, concurrency))
  return h
}

function scalar(h: CrierHome, sql: string, ...params: unknown[]): number {
  const db = h.db()
  try {
    return db.prepare(sql).pluck().get(...params) as number
  } finally {
    db.close()
  }
}

function deliveryStates(h: CrierHome): Record<string, number> {
  const db = h.db()
  try {
    const rows = db.prepare('SELECT state, count(*) AS n FROM delivery GROUP BY state').all() as Array<{state: string; n: number}>
    return Object.fromEntries(rows.map((row) => [row.state, row.n]))
  } finally {
    db.close()
  }
}

function explain(result: CliResult): string {
  return `exit ${result.status}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`
}

function draftId(h: CrierHome, severity = 'Minor', text = 'The A55 is closed eastbound at Junction 11 tonight.'): string {
  const result = h.run(['draft', text, '--severity', severity, '--json'])
  expect(result.status, explain(result)).toBe(0)
  return JSON.parse(result.stdout).id as string
}

/** Drafts and schedules `count` one-off announcements due at `dueAt`, in this process, on h's database. */
function scheduleInProcess(h: CrierHome, url: string, count: number, dueAt: number, now: () => number = Date.now): string[] {
  const world = makeWorld(configFor(url), {}, h.home)
  const ctx = {...world.ctx, now}
  const ids: string[] = []
  try {
    world.store.transaction(() => {
      for (let i = 0; i < count; i++) {
        const draft = createDraft(ctx, {text: `Water off in street ${i} for repairs.`, severity: 'Minor', channels: ['partners']})
        scheduleAnnouncement(ctx, draft.id, {at: new Date(dueAt).toISOString()})
        ids.push(draft.id)
      }
    })
  } finally {
    world.close()
  }
  return ids
}


describe('crier worker fires schedules', () => {
  it('fires a one-off 3 s ahead exactly once, logs JSON lines, and exits 0 on SIGTERM', async () => {
    fake = await startProviderFake({plan: alwaysOk()})
    home = prepareHome(fake.url)
    const id = draftId(home)
    const dueAt = Date.now() + 3000
    const scheduled = await home.runAsync(['schedule', id, '--at', new Date(dueAt).toISOString()])
    expect(scheduled.status, explain(scheduled)).toBe(0)
    expect(scheduled.stdout).toMatch(new RegExp(`^Scheduled ${shortId(id)} for \\w{3} \\d+ \\w{3} \\d{4} \\d{2}:\\d{2}(:\\d{2})? (GMT|BST) \\(in \\d+ s\\)`))

    const worker = spawnCrier(home, ['worker', '--json'])
    await waitFor('the webhook to receive the announcement', () => fake!.requests.length >= 1, 20_000)
    expect(fake.requests[0]!.receivedAt).toBeGreaterThanOrEqual(dueAt)
    await waitFor('the delivery to be recorded sent', () => scalar(home!, `SELECT count(*) FROM delivery WHERE state = 'sent'`) === 1, 10_000)
    // A while longer: nothing fires twice.
    await sleep(1500)
    expect(fake.requests.length).toBe(1)
    expect(JSON.parse(fake.requests[0]!.body).description).toBe('The A55 is closed eastbound at Junction 11 tonight.')

    worker.child.kill('SIGTERM')
    const exit = await worker.exit
    expect(exit, worker.stderr()).toEqual({code: 0, signal: null})
    expect(worker.stderr()).toBe('')
    const events = jsonLines(worker.stdout())
    expect(events.map((event) => event.event)).toEqual(['started', 'occurrence-fired', 'delivery-sent', 'stopping', 'stopped'])
    expect(events[1]).toMatchObject({kind: 'fired', templateId: id, announcementId: id, dueAt: new Date(dueAt).toISOString()})
    expect(events[2]).toMatchObject({channel: 'partners'})
    expect(events[3]).toMatchObject({signal: 'SIGTERM'})
    for (const event of events) expect(Number.isNaN(Date.parse(event.at))).toBe(false)

    expect(scalar(home, `SELECT count(*) FROM occurrence WHERE state = 'fired'`)).toBe(1)
    expect(scalar(home, `SELECT count(*) FROM occurrence`)).toBe(1)
    expect(scalar(home, `SELECT count(*) FROM schedule WHERE next_due_at IS NOT NULL`)).toBe(0)
    expect(scalar(home, `SELECT count(*) FROM announcement WHERE state = 'sent'`)).toBe(1)
  })

  it('logs a provider\'s pause once (429 with Retry-After), and sends when it ends', async () => {
    fake = await startProviderFake({plan: faultMix({seed: 1, fail503Rate: 0, rateLimitAt: [0], retryAfterSeconds: 2})})
    home = prepareHome(fake.url)
    const worker = spawnCrier(home, ['worker', '--json'])
    const id = draftId(home)
    const queued = await home.runAsync(['broadcast', id, '--no-wait'])
    expect(queued.status, explain(queued)).toBe(0)
    await waitFor('the delivery to be sent after the pause', () => scalar(home!, `SELECT count(*) FROM delivery WHERE state = 'sent'`) === 1, 20_000)
    worker.child.kill('SIGTERM')
    expect(await worker.exit, worker.stderr()).toEqual({code: 0, signal: null})
    const events = jsonLines(worker.stdout())
    const paused = events.filter((event) => event.event === 'channel-paused')
    expect(paused).toHaveLength(1)
    expect(paused[0]).toMatchObject({channel: 'partners', reason: expect.stringMatching(/429/)})
    expect(Date.parse(paused[0]!.until as string)).toBeGreaterThan(Date.parse(paused[0]!.at as string))
    expect(events.map((event) => event.event)).toContain('delivery-sent')
    expect(fake.requests.map((request) => request.status)).toEqual([429, 200])
  })

  it('fires a schedule made by another process while it runs, on time', async () => {
    fake = await startProviderFake({plan: alwaysOk()})
    home = prepareHome(fake.url)
    const id = draftId(home)
    const worker = spawnCrier(home, ['worker'])
    await waitFor('the worker to start', () => /worker started/.test(worker.stdout()), 20_000)
    // Idle for a moment first, so it is asleep when the schedule arrives.
    await sleep(1200)
    const dueAt = Date.now() + 3000
    const scheduled = await home.runAsync(['schedule', id, '--at', new Date(dueAt).toISOString()])
    expect(scheduled.status, explain(scheduled)).toBe(0)
    expect(Date.now()).toBeLessThan(dueAt) // the CLI answered before it was due

    await waitFor('the webhook to receive the announcement', () => fake!.requests.length >= 1, 20_000)
    const delay = fake.requests[0]!.receivedAt - dueAt
    expect(delay).toBeGreaterThanOrEqual(0)
    expect(delay).toBeLessThan(1500)
    await sleep(500)
    expect(fake.requests.length).toBe(1)

    worker.child.kill('SIGTERM')
    expect((await worker.exit).code).toBe(0)
    expect(worker.stdout()).toMatch(new RegExp(`fired ${id} due ${new Date(dueAt).toISOString()} → ${id}`))
    expect(worker.stdout()).toMatch(/stopping \(SIGTERM\)/)
    expect(worker.stdout()).toMatch(/worker stopped\n$/)
  })
})

describe('overlapping crier runs', () => {
  it('4 runs started together over 20 due occurrences fire and send each exactly once', async () => {
    fake = await startProviderFake({plan: slow(5)})
    home = prepareHome(fake.url)
    const dueAt = Date.now() + 2000
    const ids = scheduleInProcess(home, fake.url, 20, dueAt)
    await waitFor('the schedules to come due', () => Date.now() > dueAt + 50, 10_000)

    const runs = await Promise.all([1, 2, 3, 4].map(() => home!.runAsync(['run'])))
    for (const run of runs) {
      expect(run.status, explain(run)).toBe(0)
      expect(run.stdout).toBe('') // quiet on success
      expect(run.stderr).toBe('')
    }
    expect(fake.requests.length).toBe(20)
    expect(fake.requests.distinct('idempotency-key').size).toBe(20)
    const bodies = fake.requests.map((request) => JSON.parse(request.body).description as string)
    expect(new Set(bodies).size).toBe(20)
    expect(scalar(home, `SELECT count(*) FROM occurrence`)).toBe(20)
    expect(scalar(home, `SELECT count(*) FROM occurrence WHERE state = 'fired'`)).toBe(20)
    expect(scalar(home, `SELECT count(DISTINCT announcement_id) FROM occurrence`)).toBe(20)
    expect(scalar(home, `SELECT count(*) FROM schedule WHERE next_due_at IS NOT NULL`)).toBe(0)
    expect(deliveryStates(home)).toEqual({sent: 20})
    for (const id of ids) expect(scalar(home, `SELECT count(*) FROM delivery WHERE announcement_id = ?`, id)).toBe(1)
    expect(storeFacts(home)).toEqual({integrity: 'ok', announcements: 20, deliveries: 20})
  })

  it('a run that finds an occurrence beyond the grace period records it missed, says so on stderr and exits 4', async () => {
    fake = await startProviderFake({plan: alwaysOk()})
    home = prepareHome(fake.url)
    // Scheduled "20 minutes ago" for one minute later: due 19 minutes before the run.
    const then = Date.now() - 20 * 60_000
    const [id] = scheduleInProcess(home, fake.url, 1, then + 60_000, () => then)
    const run = await home.runAsync(['run'])
    expect(run.status, explain(run)).toBe(4)
    expect(run.stdout).toBe('')
    const lines = run.stderr.split('\n').filter((line) => line !== '')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^crier: schedule \S+ \(\S+\) occurrence due \S+ missed: due 19 min ago, beyond the 15 min grace period$/)
    expect(fake.requests.length).toBe(0)
    expect(scalar(home, `SELECT count(*) FROM occurrence WHERE state = 'missed'`)).toBe(1)
    expect(scalar(home, `SELECT state FROM announcement WHERE id = ?`, id) as unknown).toBe('approved')
    // Never dropped silently: status and list show it.
    const status = home.run(['status'])
    expect(status.stdout).toMatch(new RegExp(`^MISSED ${shortId(id!)} occurrence due \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d \\S+: missed: due 19 min ago, beyond the 15 min grace period$`, 'm'))
    const list = home.run(['list'])
    expect(list.stderr).toMatch(/^1 scheduled occurrence missed in the last 24 h — see crier status$/m)
    // Its own status and show say it too: "not sent yet" alone reads as still to come.
    const own = home.run(['status', id!])
    expect(own.stdout).toMatch(/^Its schedule for \d{4}-\d\d-\d\d \d\d:\d\d \S+ was missed — missed: due 19 min ago, beyond the 15 min grace period\nNot sent yet\. Next: crier broadcast /m)
    expect(jsonOf(home.run(['status', id!, '--json'])).missedSchedule).toEqual({dueAt: then + 60_000, reason: 'missed: due 19 min ago, beyond the 15 min grace period'})
    expect(home.run(['show', id!]).stdout).toMatch(/^Missed: {4}its schedule for \d{4}-\d\d-\d\d \d\d:\d\d \S+ — missed: due 19 min ago, beyond the 15 min grace period$/m)
    expect(jsonOf(home.run(['show', id!, '--json'])).missedSchedule).toMatchObject({dueAt: then + 60_000})
    // The next run has nothing left to report.
    const again = await home.runAsync(['run'])
    expect(again.status, explain(again)).toBe(0)
    expect(again.stderr).toBe('')
  })
})

describe('stopping a worker mid-broadcast', () => {
  it('SIGTERM: in-flight sends finish, nothing is left sending, the rest stays queued, exit 0', async () => {
    fake = await startProviderFake({plan: slow(50)})
    home = prepareHome(fake.url, 4)
    const dueAt = Date.now() + 1500
    scheduleInProcess(home, fake.url, 200, dueAt)
    const worker = spawnCrier(home, ['worker', '--json'])
    await waitFor('the worker to be mid-broadcast', () => fake!.requests.length >= 20, 30_000)
    worker.child.kill('SIGTERM')
    const exit = await worker.exit
    expect(exit, worker.stderr()).toEqual({code: 0, signal: null})

    const states = deliveryStates(home)
    expect(states.sending ?? 0).toBe(0)
    expect(states.sent).toBeGreaterThan(0)
    const deliveries = scalar(home, `SELECT count(*) FROM delivery`)
    expect(deliveries).toBeLessThanOrEqual(200)
    expect(states.sent).toBeLessThan(deliveries)
    expect(states).toEqual({sent: states.sent, queued: deliveries - states.sent!})
    // Every request the fake answered is recorded sent; none went out twice.
    expect(fake.requests.distinct('idempotency-key').size).toBe(fake.requests.length)
    // Each fired occurrence made exactly its delivery; those not yet fired are still due.
    expect(scalar(home, `SELECT count(*) FROM occurrence WHERE state = 'fired'`)).toBe(deliveries)
    expect(scalar(home, `SELECT count(*) FROM schedule WHERE next_due_at IS NOT NULL`)).toBe(200 - deliveries)
    // After `stopping`, only the sends already in flight (at most the concurrency) report, then `stopped`.
    const events = jsonLines(worker.stdout()).map((event) => event.event as string)
    const stopping = events.indexOf('stopping')
    expect(stopping).toBeGreaterThan(0)
    expect(events.at(-1)).toBe('stopped')
    const after = events.slice(stopping + 1, -1)
    expect(after.length).toBeLessThanOrEqual(4)
    for (const event of after) expect(event).toBe('delivery-sent')
  })

  it('SIGINT twice: the second aborts the sends in flight, and the worker exits 130, not 0', async () => {
    fake = await startProviderFake({plan: slow(5000)})
    home = prepareHome(fake.url, 4)
    scheduleInProcess(home, fake.url, 8, Date.now() + 500)
    const worker = spawnCrier(home, ['worker'])
    await waitFor('sends to be in flight', () => fake!.requests.length >= 4, 30_000)
    worker.child.kill('SIGINT')
    await sleep(300)
    worker.child.kill('SIGINT')
    expect((await worker.exit).code).toBe(130)
    expect(scalar(home, `SELECT count(*) FROM delivery WHERE state = 'sending'`)).toBe(0)
  })

  it('kill -9, then a new worker: everything is fired and delivered, each once by its key, nothing left sending', async () => {
    fake = await startProviderFake({plan: slow(30)})
    home = prepareHome(fake.url, 8)
    const dueAt = Date.now() + 1500
    scheduleInProcess(home, fake.url, 200, dueAt)
    const first = spawnCrier(home, ['worker'])
    await waitFor('the worker to be mid-broadcast', () => fake!.requests.length >= 40, 30_000)
    first.child.kill('SIGKILL')
    expect((await first.exit).signal).toBe('SIGKILL')
    expect(scalar(home, `SELECT count(*) FROM delivery WHERE state = 'sending'`)).toBeGreaterThan(0) // the kill landed mid-send

    const second = spawnCrier(home, ['worker'])
    await waitFor(
      'every occurrence fired and every delivery sent',
      () => scalar(home!, `SELECT count(*) FROM schedule WHERE next_due_at IS NOT NULL`) === 0 && deliveryStates(home!).sent === 200,
      60_000,
    )
    second.child.kill('SIGTERM')
    expect((await second.exit).code).toBe(0)

    expect(deliveryStates(home)).toEqual({sent: 200})
    expect(scalar(home, `SELECT count(*) FROM occurrence WHERE state = 'fired'`)).toBe(200)
    expect(scalar(home, `SELECT count(*) FROM occurrence`)).toBe(200)
    // Requeued deliveries may be sent again, always under the same Idempotency-Key.
    expect(fake.requests.distinct('idempotency-key').size).toBe(200)
    const db = home.db()
    const ids = db.prepare('SELECT id FROM delivery').pluck().all() as string[]
    db.close()
    const received = fake.requests.distinct('idempotency-key')
    for (const id of ids) expect(received.has(id)).toBe(true)
    expect(storeFacts(home)).toEqual({integrity: 'ok', announcements: 200, deliveries: 200})
  })
})

describe('crier schedule refuses bad input, scheduling nothing', () => {
  function schedules(h: CrierHome): number {
    return scalar(h, 'SELECT count(*) FROM schedule')
  }

  /** One `Error: …` line, the exit code, nothing on stdout, no schedule row, the draft still a draft. */
  function refused(h: CrierHome, id: string, args: string[], exitCode: number, message: RegExp): string {
    const before = schedules(h)
    const stateBefore = scalar(h, 'SELECT state FROM announcement WHERE id = ?', id)
    const result = h.run(['schedule', id, ...args])
    expect(result.status, explain(result)).toBe(exitCode)
    expect(result.stdout, explain(result)).toBe('')
    const lines = result.stderr.split('\n').filter((line) => line !== '')
    expect(lines, explain(result)).toHaveLength(1)
    expect(lines[0]).toMatch(/^Error: \S/)
    expect(lines[0]).toMatch(message)
    expect(schedules(h)).toBe(before)
    expect(scalar(h, 'SELECT state FROM announcement WHERE id = ?', id)).toBe(stateBefore)
    return lines[0]!
  }

  function setUp(): {h: CrierHome; id: string} {
    const h = makeCrierHome()
    h.writeConfig(configFor('http://127.0.0.1:9'))
    home = h
    return {h, id: draftId(h)}
  }

  it('a cron with 6 fields: exit 2', () => {
    const {h, id} = setUp()
    refused(h, id, ['--cron', '0 0 8 * * TUE'], 2, /^Error: --cron "0 0 8 \* \* TUE" has 6 fields — use five/)
  })

  it('a nonsense cron: exit 2', () => {
    const {h, id} = setUp()
    refused(h, id, ['--cron', 'nonsense'], 2, /--cron "nonsense" has 1 fields/)
    refused(h, id, ['--cron', 'a b c d e'], 2, /--cron "a b c d e" is not valid/)
    refused(h, id, ['--cron', '61 * * * *'], 2, /--cron "61 \* \* \* \*" is not valid/)
  })

  it('an unknown time zone, or an abbreviation that keeps no summer time: exit 2', () => {
    const {h, id} = setUp()
    refused(h, id, ['--cron', '0 8 * * TUE', '--tz', 'Mars/Olympus_Mons'], 2, /--tz "Mars\/Olympus_Mons" is not a time zone — use an IANA name/)
    refused(h, id, ['--at', 'tomorrow 07:30', '--tz', 'Europe/Lundun'], 2, /--tz "Europe\/Lundun" is not a time zone/)
    refused(h, id, ['--cron', '0 8 * * TUE', '--tz', 'EST'], 2, /--tz "EST" is not a place's zone — name the place, e\.g\. Europe\/London/)
  })

  it('--at and --cron together: exit 2', () => {
    const {h, id} = setUp()
    refused(h, id, ['--at', 'tomorrow 07:30', '--cron', '0 8 * * TUE'], 2, /--cron.*cannot also be provided|cannot also be provided.*--cron/)
  })

  it('neither --at nor --cron, or --until with --at: exit 2', () => {
    const {h, id} = setUp()
    refused(h, id, [], 2, /give --at WHEN \(once\) or --cron EXPR \(recurring\)/)
    refused(h, id, ['--at', 'tomorrow 07:30', '--until', '2099-01-01'], 2, /--until is for --cron schedules/)
  })

  it('--until before the first occurrence: exit 2', () => {
    const {h, id} = setUp()
    // A yearly cron whose next occurrence is ten days ahead, until five days ahead.
    const first = new Date(Date.now() + 10 * 86_400_000)
    const until = new Date(Date.now() + 5 * 86_400_000).toISOString().slice(0, 10)
    const cron = `0 12 ${first.getUTCDate()} ${first.getUTCMonth() + 1} *`
    refused(h, id, ['--cron', cron, '--until', until], 2, new RegExp(`--until ${until} is before the first occurrence of "${cron.replace(/\*/g, '\\*')}" — nothing would fire`))
    refused(h, id, ['--cron', '0 8 * * TUE', '--until', '2020-01-01'], 2, /is in the past/)
  })

  it('a Severe draft that needs approval: exit 3', () => {
    const {h} = setUp()
    const severe = draftId(h, 'Severe', 'Flood warning for the Conwy valley.')
    refused(h, severe, ['--at', 'tomorrow 07:30'], 3, new RegExp(`${shortId(severe)} \\(Severe\\) needs 1 approval before it can be scheduled and has 0`))
    refused(h, severe, ['--cron', '0 8 * * TUE'], 3, /needs 1 approval/)
  })

  it('a time in the past, or a day with no time: exit 2', () => {
    const {h, id} = setUp()
    refused(h, id, ['--at', '2020-01-01T10:00'], 2, /--at "2020-01-01T10:00" is in the past \(Wed 1 Jan 2020 10:00 GMT\) — give a later time/)
    refused(h, id, ['--at', 'yesterday 07:30'], 2, /--at "yesterday 07:30" is in the past/)
    refused(h, id, ['--at', 'tomorrow'], 2, /--at "tomorrow" has no time of day — say it, e\.g\. "tomorrow 07:30"/)
    refused(h, id, ['--at', 'when the cows come home'], 2, /is not a time crier understands/)
  })

  it('a numeric date whose day and month could swap: exit 2, saying both readings and how to write it', () => {
    const {h, id} = setUp()
    refused(h, id, ['--at', '03/04/2030 10:00'], 2, /^Error: --at "03\/04\/2030" could be 3 April or 4 March — write 2030-04-03 or 3 Apr 2030$/)
    refused(h, id, ['--at', '3.4.30 10:00'], 2, /^Error: --at "3\.4\.30" could be 3 April or 4 March — write 2030-04-03 or 3 Apr 2030$/)
  })

  it('"tomorrow 00:30" is accepted and echoed as the absolute time understood', () => {
    const {h, id} = setUp()
    // Whichever side of midnight the command lands, it is one of these two.
    const expectedBefore = parseWhen('tomorrow 00:30', Date.now(), zone).at
    const result = h.run(['schedule', id, '--at', 'tomorrow 00:30'])
    const expectedAfter = parseWhen('tomorrow 00:30', Date.now(), zone).at
    expect(result.status, explain(result)).toBe(0)
    expect(result.stderr).toBe('')
    const dueAt = scalar(h, 'SELECT next_due_at FROM schedule')
    expect([expectedBefore, expectedAfter]).toContain(dueAt)
    expect(result.stdout).toMatch(/^Scheduled \S+ for .+ \(in .+\) — understood "tomorrow 00:30"\.\n$/)
    expect(result.stdout).toContain(`Scheduled ${shortId(id)} for ${formatInZone(dueAt, zone)} (in `)
    expect(formatInZone(dueAt, zone)).toMatch(/ 00:30 (GMT|BST)$/)
    expect(scalar(h, 'SELECT state FROM announcement WHERE id = ?', id) as unknown).toBe('scheduled')
  })
})

describe('crier schedule accepts', () => {
  function setUp(): {h: CrierHome; id: string} {
    const h = makeCrierHome()
    h.writeConfig(configFor('http://127.0.0.1:9'))
    home = h
    return {h, id: draftId(h)}
  }

  it('a weekly cron with --tz and --until, echoing the next three occurrences', () => {
    const {h, id} = setUp()
    const until = new Date(Date.now() + 60 * 86_400_000).toISOString().slice(0, 10)
    const untilAt = parseWhen(`${until}T23:59:59`, Date.now(), zone).at
    const before = cronOccurrences('0 8 * * TUE', zone, Date.now(), 3, untilAt)
    const result = h.run(['schedule', id, '--cron', '0 8 * * TUE', '--tz', zone, '--until', until])
    const after = cronOccurrences('0 8 * * TUE', zone, Date.now(), 3, untilAt)
    expect(result.status, explain(result)).toBe(0)
    // The year on the first, and again only where it changes (late December).
    const year = (at: number) => new Date(at).toLocaleString('en-GB', {timeZone: zone, year: 'numeric'})
    const echo = (next: number[]) => `Next: ${next.map((at, i) => formatInZone(at, zone, i === 0 || year(at) !== year(next[i - 1]!))).join(', ')} (until ${formatInZone(untilAt, zone)})\n`
    expect([echo(before), echo(after)]).toContain(result.stdout)
    expect(result.stdout).toMatch(/^Next: Tue \d+ \w{3} \d{4} 08:00 (GMT|BST), Tue \d+ \w{3}( \d{4})? 08:00 (GMT|BST), Tue \d+ \w{3}( \d{4})? 08:00 (GMT|BST) \(until .+ 23:59:59 (GMT|BST)\)$/m)
    const db = h.db()
    const rows = db.prepare('SELECT kind, cron, time_zone AS timeZone, until_at AS untilAt, next_due_at AS nextDueAt FROM schedule').all()
    db.close()
    expect([before[0], after[0]]).toContain((rows[0] as {nextDueAt: number}).nextDueAt)
    expect(rows).toEqual([{kind: 'cron', cron: '0 8 * * TUE', timeZone: zone, untilAt, nextDueAt: expect.any(Number)}])
  })

  it('the echo names the year again wherever it changes: leap days are four years apart', () => {
    const {h, id} = setUp()
    const result = h.run(['schedule', id, '--cron', '0 9 29 2 *', '--tz', zone])
    expect(result.status, explain(result)).toBe(0)
    expect(result.stdout).toMatch(/^Next: Tue 29 Feb 2028 09:00 GMT, Sun 29 Feb 2032 09:00 GMT, Fri 29 Feb 2036 09:00 GMT$/m)
  })

  it('a numeric date that reads only one way, read that way: 13/04 is 13 April', () => {
    const {h, id} = setUp()
    const result = h.run(['schedule', id, '--at', '13/04/2030 10:00'])
    expect(result.status, explain(result)).toBe(0)
    expect(scalar(h, 'SELECT next_due_at FROM schedule')).toBe(Date.UTC(2030, 3, 13, 9, 0))
    expect(result.stdout).toMatch(/^Scheduled \S+ for Sat 13 Apr 2030 10:00 BST \(in .+\) — understood "13\/04\/2030 10:00"\.$/m)
  })

  it('show gives a recurring one\'s expiry as the span after each occurrence, not a time before its first', () => {
    const {h} = setUp()
    const result = h.run(['draft', 'Siren test at noon.', '--severity', 'Minor', '--expires', '+2h', '--json'])
    expect(result.status, explain(result)).toBe(0)
    const weekly = JSON.parse(result.stdout).id as string
    expect(h.run(['schedule', weekly, '--cron', '0 12 * * WED', '--tz', zone]).status).toBe(0)
    const shown = h.run(['show', weekly]).stdout
    expect(shown).toMatch(/^Expires: {3}2 h 0 min after each occurrence$/m)
    expect(shown).not.toMatch(/^Expires: +\d{4}-/m)
  })

  it('list and show say when a scheduled one goes out, in text and --json', () => {
    const {h, id} = setUp()
    const weekly = draftId(h, 'Minor', 'Bins are collected on Tuesday this week.')
    expect(h.run(['schedule', id, '--at', '13/04/2030 10:00']).status).toBe(0)
    expect(h.run(['schedule', weekly, '--cron', '0 8 * * TUE', '--tz', zone, '--until', '2030-12-31']).status).toBe(0)
    const nextTuesday = scalar(h, 'SELECT next_due_at FROM schedule WHERE kind = ?', 'cron')
    // Shown as the configured zone's clocks show it, though list reads no config (the audit trail has the zone).
    // London's clocks: 08:00, GMT in winter and BST in summer.
    const nextTuesdayText = `${new Date(nextTuesday).toLocaleDateString('sv-SE', {timeZone: zone})} 08:00 (GMT|BST)`

    const list = h.run(['list'])
    expect(list.stdout).toContain(`${shortId(id)}  scheduled`)
    expect(list.stdout).toMatch(new RegExp(`${shortId(id)} .*\\[goes 2030-04-13 10:00 BST\\] The A55`))
    expect(list.stdout).toMatch(new RegExp(`${shortId(weekly)} .*\\[next ${nextTuesdayText}, cron\\] Bins`))
    const listed = JSON.parse(h.run(['list', '--json']).stdout) as Array<{id: string; schedule?: {kind: string; nextDueAt: number; cron: string | null; timeZone: string}}>
    expect(listed.find((a) => a.id === id)?.schedule).toMatchObject({kind: 'once', nextDueAt: Date.UTC(2030, 3, 13, 9, 0), cron: null})
    expect(listed.find((a) => a.id === weekly)?.schedule).toMatchObject({kind: 'cron', nextDueAt: nextTuesday, cron: '0 8 * * TUE', timeZone: zone})

    expect(h.run(['show', id]).stdout).toMatch(/^Scheduled: 2030-04-13 10:00 BST \(once\), by /m)
    expect(h.run(['show', weekly]).stdout).toMatch(new RegExp(`^Scheduled: next ${nextTuesdayText} \\(cron "0 8 \\* \\* TUE" Europe/London, until 2030-12-31 23:59 GMT\\), by `, 'm'))
    expect(JSON.parse(h.run(['show', weekly, '--json']).stdout).schedule).toMatchObject({kind: 'cron', nextDueAt: nextTuesday})

    // Unscheduled: back to approved, and neither says a time any more.
    expect(h.run(['unschedule', id]).status).toBe(0)
    expect(h.run(['show', id]).stdout).not.toContain('Scheduled:')
    expect(JSON.parse(h.run(['show', id, '--json']).stdout).schedule).toBeUndefined()
  })

  it('unschedule works while the config does not load (a colleague’s typo): stopping needs no config', () => {
    const {h, id} = setUp()
    expect(h.run(['schedule', id, '--at', '13/04/2030 10:00']).status).toBe(0)
    writeFileSync(join(h.home, 'config.yaml'), `${readFileSync(join(h.home, 'config.yaml'), 'utf8')}policy:\n  bogusKey: 1\n`)
    expect(h.run(['list']).status).toBe(0)
    const unscheduled = h.run(['unschedule', id])
    expect(unscheduled.status, unscheduled.stderr).toBe(0)
    expect(scalar(h, 'SELECT state FROM announcement WHERE id = ?', id)).toBe('approved')
    expect(scalar(h, 'SELECT count(*) FROM schedule WHERE next_due_at IS NOT NULL')).toBe(0)
  })

  it('words read in the configured zone whatever the process TZ', () => {
    const {h, id} = setUp()
    const expectedBefore = parseWhen('tomorrow 07:30', Date.now(), zone).at
    const result = h.run(['schedule', id, '--at', 'tomorrow 07:30'], {env: {TZ: 'Asia/Tokyo'}})
    const expectedAfter = parseWhen('tomorrow 07:30', Date.now(), zone).at
    expect(result.status, explain(result)).toBe(0)
    expect([expectedBefore, expectedAfter]).toContain(scalar(h, 'SELECT next_due_at FROM schedule'))
    expect(result.stdout).toMatch(/ 07:30 (GMT|BST) \(in .+\) — understood "tomorrow 07:30"\.$/m)
  })
})
