import stringWidth from 'string-width'
import {afterEach, describe, expect, it} from 'vitest'
import {createDraft} from '../../src/core/drafting.js'
import {shortId} from '../../src/core/ids.js'
import {fanOut} from '../../src/engine/fan-out.js'
import {explain, ok} from '../helpers/cli-assertions.js'
import {jsonOf, makeCrierHome, type CrierHome} from '../helpers/cli.js'
import {makeWorld} from '../helpers/world.js'

// `crier status` with no ID: the duty officer's first command of a shift, through the built
// CLI, over a store holding one of everything it reports.

let home: CrierHome | undefined
afterEach(() => {
  home?.cleanup()
  home = undefined
})

const config = `timezone: Europe/London
channels:
  partners: {type: webhook, url: "http://127.0.0.1:9/hooks/a"}
  website: {type: feed, dir: ./public}
policy:
  approvals: {default: 0, bySeverity: {Severe: 1, Extreme: 2}}
`

describe('crier status (the shift-start dashboard)', () => {
  it('shows what is sending, the next occurrences, what waits for approval and what went wrong in the last 24 h', () => {
    home = makeCrierHome()
    const h = home
    h.writeConfig(config)
    const draft = (text: string, severity: string) => jsonOf(ok(h.run(['draft', text, '--severity', severity, '--channel', 'partners,website', '--json']))).id as string

    // One that went wrong (first, so that its deliveries are the ones claimed): a delivery
    // dead after a provider's refusal, one unknown after its sender died, written in-process
    // as the engine would.
    const world = makeWorld(config, {}, h.home)
    let troubled: string
    try {
      const announcement = createDraft(world.ctx, {text: 'Boil water notice.', severity: 'Minor', channels: ['partners', 'website']})
      fanOut(world.ctx, announcement.id)
      troubled = announcement.id
      const now = Date.now()
      world.store.transaction(() => {
        const [partners] = world.store.deliveries.claimDue({channel: 'partners', owner: 'gone:1:x', now, leaseUntil: now + 60_000, limit: 1})
        world.store.deliveries.recordResults([{id: partners!.id, owner: 'gone:1:x', startedAt: now, durationMs: 1, outcome: 'permanent', nextState: 'dead', error: 'HTTP 400: \u001b]0;pwned\u0007bad request'}], now)
        const [website] = world.store.deliveries.claimDue({channel: 'website', owner: 'gone:1:x', now, leaseUntil: now + 60_000, limit: 1})
        world.store.deliveries.markUnknown(website!.id, 'gone:1:x', 'its sender stopped mid-send', now)
      })
    } finally {
      world.close()
    }

    const sending = draft('Road closed at J11.', 'Minor')
    ok(h.run(['broadcast', sending, '--no-wait']))
    const weekly = draft('Siren test every morning at eight.', 'Minor')
    ok(h.run(['schedule', weekly, '--cron', '0 8 * * *', '--tz', 'Europe/London']))
    const once = draft('Planned power cut in Bangor.', 'Moderate')
    const onceAt = Date.now() + 3 * 3600_000
    ok(h.run(['schedule', once, '--at', new Date(onceAt).toISOString()]))
    const needsOne = draft('Gas leak near the pier.', 'Severe')
    const needsTwo = draft('Evacuate the seafront.', 'Extreme')
    ok(h.run(['approve', needsTwo], {env: {CRIER_USER: 'sgt.first'}}))
    const plainDraft = draft('Bins on Tuesday.', 'Minor')

    const json = h.run(['status', '--json'])
    expect(json.status, explain(json)).toBe(0)
    const board = jsonOf(json)
    expect(Object.keys(board).sort()).toEqual(['awaitingApproval', 'missedOccurrences', 'missedOccurrencesCount', 'scheduled', 'scheduledNotShown', 'sending', 'trouble', 'unreviewedOverrides', 'untoldCancels'])

    expect(board.sending.map((s: any) => s.announcement.id)).toEqual(expect.arrayContaining([sending, troubled!]))
    const road = board.sending.find((s: any) => s.announcement.id === sending)
    expect(road.pending).toBe(2)
    expect(road.channels.map((c: any) => c.channel)).toEqual(['partners', 'website'])

    // The next five occurrences across both schedules, soonest first.
    expect(board.scheduled).toHaveLength(5)
    const times = board.scheduled.map((next: any) => next.at)
    expect([...times].sort((a, b) => a - b)).toEqual(times)
    expect(board.scheduled.filter((next: any) => next.announcement.id === once)).toEqual([
      expect.objectContaining({at: expect.any(Number), kind: 'once', announcement: expect.objectContaining({headline: 'Planned power cut in Bangor.'})}),
    ])
    const daily = board.scheduled.filter((next: any) => next.announcement.id === weekly)
    expect(daily.length).toBe(4)
    for (const next of daily) {
      expect(next).toMatchObject({kind: 'cron', cron: '0 8 * * *', timeZone: 'Europe/London'})
      const local = new Intl.DateTimeFormat('en-GB', {timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'}).format(next.at)
      expect(local).toBe('08:00')
    }

    const waiting = Object.fromEntries(board.awaitingApproval.map((w: any) => [w.announcement.id, w]))
    expect(Object.keys(waiting).sort()).toEqual([needsOne, needsTwo].sort())
    expect(waiting[needsOne]).toMatchObject({required: 1, approvedBy: [], author: 'officer.author'})
    expect(waiting[needsTwo]).toMatchObject({required: 2, approvedBy: ['sgt.first'], announcement: expect.objectContaining({state: 'pending_approval'})})
    expect(waiting[plainDraft]).toBeUndefined()

    expect(board.trouble).toEqual(
      expect.arrayContaining([
        expect.objectContaining({channel: 'partners', state: 'dead', count: 1, error: 'HTTP 400: \u001b]0;pwned\u0007bad request', announcement: expect.objectContaining({id: troubled!})}),
        expect.objectContaining({channel: 'website', state: 'unknown', count: 1, error: 'its sender stopped mid-send'}),
      ]),
    )
    expect(board.trouble).toHaveLength(2)
    expect(board.missedOccurrences).toEqual([])

    const text = h.run(['status'])
    expect(text.status, explain(text)).toBe(0)
    const out = text.stdout
    expect(out).toMatch(/^Sending now$/m)
    expect(out).toMatch(new RegExp(`^ {2}${shortId(sending)} +sending +Minor`, 'm'))
    expect(out).toMatch(/^Scheduled next$/m)
    expect(out).toMatch(new RegExp(`^ {2}\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d \\S+ {2}${shortId(weekly)} {2}Minor {4}Siren test every morning at eight\\. {2}\\(cron "0 8 \\* \\* \\*" Europe/London\\)$`, 'm'))
    expect(out).toMatch(new RegExp(`^ {2}\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d \\S+ {2}${shortId(once)} {2}Moderate Planned power cut in Bangor\\. {2}\\(once\\)$`, 'm'))
    expect(out).toMatch(/^Waiting for approval$/m)
    expect(out).toMatch(new RegExp(`^ {2}${shortId(needsTwo)} {2}Extreme {2}Evacuate the seafront\\. {2}approvals 1/2 \\(sgt\\.first\\) — crier approve ${shortId(needsTwo)} \\(not officer\\.author, sgt\\.first\\)$`, 'm'))
    expect(out).toMatch(/^Needs attention \(last 24 h\)$/m)
    expect(out).toMatch(new RegExp(`^ {2}DEAD 1 on partners {2}${shortId(troubled!)} {2}Minor {4}Boil water notice\\. {2}last \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d \\S+, e\\.g\\. HTTP 400: bad request — crier status ${shortId(troubled!)}$`, 'm'))
    expect(out).toMatch(/^ {2}UNKNOWN 1 on website .*, e\.g\. its sender stopped mid-send — crier status /m)
    // Stored provider text is stripped before it is shown.
    expect(out).not.toContain('\u001b')
    expect(out).not.toContain('pwned')

    // Over SSH in 80 columns: nothing wraps; what to do goes on its own line, and nothing is lost but a cut headline.
    const narrow = ok(h.run(['status'], {env: {COLUMNS: '80'}})).stdout
    for (const line of narrow.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(80)
    // A command is copied whole: never broken between its words and its id.
    expect(narrow).not.toMatch(/crier(?: [a-z]+)+\n *[0-9A-Z]{12}/)
    expect(narrow).toMatch(new RegExp(`^ {2}${shortId(needsTwo)} {2}Extreme {2}Evacuate the seafront\\.\n {4}approvals 1/2 \\(sgt\\.first\\) — crier approve ${shortId(needsTwo)} \\(not officer\\.author,\n {4}sgt\\.first\\)$`, 'm'))
    expect(narrow).toMatch(new RegExp(`^ {4}last \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d \\S+, e\\.g\\. HTTP 400: bad request —\n {4}crier status ${shortId(troubled!)}$`, 'm'))

    // Cancelled since: still listed (it went wrong), but marked, so nobody chases or retries it.
    const cancelled = jsonOf(ok(h.run(['cancel', troubled!, '--no-wait', '--json'])))
    const cancel = cancelled.followUp.announcement.id as string
    const after = jsonOf(ok(h.run(['status', '--json'])))
    expect(after.trouble.filter((t: any) => t.announcement.id === troubled!).map((t: any) => t.cancelledBy)).toEqual([cancel, cancel])
    expect(h.run(['status']).stdout).toMatch(new RegExp(`^ {2}DEAD 1 on partners {2}\\[CANCELLED by ${shortId(cancel)}\\] ${shortId(troubled!)} `, 'm'))
  })

  it('fits wide characters (CJK, emoji: two columns each) into a narrow terminal', () => {
    home = makeCrierHome()
    const h = home
    h.writeConfig(config)
    const id = jsonOf(ok(h.run(['draft', '東京都の避難指示が発令されました 🌊🌊 直ちに避難してください。', '--headline', '東京都の避難指示が発令されました 🌊🌊 直ちに避難してください', '--severity', 'Extreme', '--channel', 'website', '--json']))).id as string
    for (const columns of [80, 40, 30]) {
      const out = ok(h.run(['status'], {env: {COLUMNS: String(columns)}})).stdout
      for (const line of out.trimEnd().split('\n')) expect(stringWidth(line), line).toBeLessThanOrEqual(columns)
      expect(out.replace(/\n +/g, ' ')).toContain(`crier approve ${shortId(id)}`)
    }
  })

  it("refuses an empty id (a script's unset variable) instead of showing the overview: exit 2", () => {
    home = makeCrierHome()
    const result = home.run(['status', ''])
    expect(result.status).toBe(2)
    expect(result.stderr).toBe('Error: the announcement id is empty — give an id, or none for the overview: crier status\n')
    expect(result.stdout).toBe('')
  })

  it('says so in one line when there is nothing to report', () => {
    home = makeCrierHome()
    home.writeConfig(config)
    const result = ok(home.run(['status']))
    expect(result.stdout).toBe('Nothing sending, scheduled or waiting for approval, no Cancel waiting to go out, and nothing went wrong in the last 24 h.\n')
    expect(jsonOf(home.run(['status', '--json']))).toEqual({sending: [], scheduled: [], scheduledNotShown: 0, awaitingApproval: [], trouble: [], missedOccurrences: [], missedOccurrencesCount: 0, untoldCancels: [], unreviewedOverrides: []})
  })
})
