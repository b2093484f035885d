import {afterEach, describe, expect, it} from 'vitest'
import {createDraft} from '../../src/core/drafting.js'
import {fanOut} from '../../src/engine/fan-out.js'
import type {AttemptResult} from '../../src/store/deliveries.js'
import {explain, ok, refused} from '../helpers/cli-assertions.js'
import {jsonOf, makeCrierHome, storeFacts, type CrierHome} from '../helpers/cli.js'
import {makeWorld, type World} from '../helpers/world.js'

// crier report through the built CLI, over a queue written in-process with known times: what
// was queued in the window, how it ended, the tries, and queued-to-sent times.

let home: CrierHome | undefined
afterEach(() => {
  home?.cleanup()
  home = undefined
})

const config = `timezone: Europe/London
channels:
  partners: {type: webhook, url: "http://127.0.0.1:9/hooks/a"}
  website: {type: feed, dir: ./public}
`
const hour = 3_600_000
const day = 24 * hour

/** Queues one announcement on both channels at `at`, then plays `outcomes` per channel: [ms after queueing, result]. */
function broadcastAt(world: World, at: number, text: string, outcomes: Record<string, Array<[number, Pick<AttemptResult, 'outcome' | 'nextState' | 'error'> | 'unknown']>>): void {
  world.ctx.now = () => at
  const announcement = createDraft(world.ctx, {text, severity: 'Minor', channels: ['partners', 'website']})
  fanOut(world.ctx, announcement.id)
  for (const [channel, steps] of Object.entries(outcomes)) {
    for (const [after, step] of steps) {
      const now = at + after
      world.store.transaction(() => {
        const [delivery] = world.store.deliveries.claimDue({channel, owner: 'test:1:x', now, leaseUntil: now + 60_000, limit: 1})
        if (!delivery || delivery.announcementId !== announcement.id) throw new Error(`nothing of ${text} to claim on ${channel}`)
        if (step === 'unknown') world.store.deliveries.markUnknown(delivery.id, 'test:1:x', 'its sender stopped mid-send', now)
        else world.store.deliveries.recordResults([{id: delivery.id, owner: 'test:1:x', startedAt: now, durationMs: 5, ...step, ...(step.nextState === 'failed' && {dueAt: now})}], now)
      })
    }
  }
}

const sent = {outcome: 'sent', nextState: 'sent'} as const
const unavailable = {outcome: 'transient', nextState: 'failed', error: 'HTTP 503'} as const
const refusal = {outcome: 'permanent', nextState: 'dead', error: 'HTTP 400: bad request'} as const

function prepare(): {h: CrierHome; now: number} {
  home = makeCrierHome()
  const h = home
  h.writeConfig(config)
  const world = makeWorld(config, {}, h.home)
  const now = Date.now()
  try {
    broadcastAt(world, now - 10 * day, 'Last week: bins collected Tuesday.', {partners: [[1000, sent]], website: [[100, sent]]})
    broadcastAt(world, now - 2 * hour, 'Road closed at J11.', {partners: [[1000, unavailable], [5000, sent]], website: [[200, sent]]})
    broadcastAt(world, now - hour, 'Boil water notice.', {partners: [[300, refusal]], website: [[50, 'unknown']]})
  } finally {
    world.close()
  }
  return {h, now}
}

describe('crier report', () => {
  it('--json: per channel and in total, what was queued in the window, how it ended, the tries, queued-to-sent times', () => {
    const {h} = prepare()
    const report = jsonOf(ok(h.run(['report', '--since', '7d', '--json'])))
    expect(report.announcements).toBe(2)
    const [partners, website] = report.channels
    expect(partners).toEqual({
      channel: 'partners', announcements: 2, deliveries: 2, sent: 1, pending: 0, dead: 1, unknown: 0, expired: 0, skipped: 0, cancelled: 0,
      tries: 3, failedTries: 2, latencyMs: {median: 5000, p95: 5000, max: 5000},
    })
    expect(website).toEqual({
      channel: 'website', announcements: 2, deliveries: 2, sent: 1, pending: 0, dead: 0, unknown: 1, expired: 0, skipped: 0, cancelled: 0,
      tries: 1, failedTries: 0, latencyMs: {median: 200, p95: 200, max: 200},
    })
    expect(report.total).toEqual({
      announcements: 2, deliveries: 4, sent: 2, pending: 0, dead: 1, unknown: 1, expired: 0, skipped: 0, cancelled: 0,
      tries: 4, failedTries: 2, latencyMs: {median: 200, p95: 5000, max: 5000},
    })
    expect(report.until - report.since).toBe(7 * day)

    // Everything, and a window that holds only last week's.
    const all = jsonOf(ok(h.run(['report', '--format', 'json'])))
    expect(all).toMatchObject({since: null, announcements: 3, total: {deliveries: 6, sent: 4, latencyMs: {median: 200, p95: 5000, max: 5000}}})
    const lastWeek = jsonOf(ok(h.run(['report', '--until', '7d', '--json'])))
    expect(lastWeek).toMatchObject({announcements: 1, total: {deliveries: 2, sent: 2, failedTries: 0, latencyMs: {median: 100, p95: 1000, max: 1000}}})
  })

  it('a table for the terminal, and CSV for a spreadsheet', () => {
    const {h} = prepare()
    const table = ok(h.run(['report', '--since', '7d'])).stdout.split('\n')
    expect(table[0]).toMatch(/^Deliveries queued from \S+Z until \S+Z: 2 announcements, 4 deliveries\.$/)
    const header = table.find((line) => line.startsWith('channel'))!
    expect(header.split(/\s{2,}/)).toEqual(['channel', 'deliveries', 'sent', 'pending', 'dead', 'unknown', 'expired', 'failed tries', 'median', 'p95', 'slowest'])
    expect(table.find((line) => line.startsWith('partners'))!.split(/\s{2,}/)).toEqual(['partners', '2', '1', '0', '1', '0', '0', '2', '5.0 s', '5.0 s', '5.0 s'])
    expect(table.find((line) => line.startsWith('website'))!.split(/\s{2,}/)).toEqual(['website', '2', '1', '0', '0', '1', '0', '0', '200 ms', '200 ms', '200 ms'])
    expect(table.find((line) => line.startsWith('total'))!.split(/\s{2,}/)).toEqual(['total', '4', '2', '0', '1', '1', '0', '2', '200 ms', '5.0 s', '5.0 s'])

    // In 60 columns (COLUMNS, as a terminal's width): the columns that do not fit come in a block of their own, each row whole.
    const narrow = ok(h.run(['report', '--since', '7d'], {env: {COLUMNS: '60'}})).stdout.split('\n')
    for (const line of narrow) expect(line.length, line).toBeLessThanOrEqual(60)
    const headers = narrow.filter((line) => line.startsWith('channel'))
    expect(headers.length).toBeGreaterThan(1)
    expect(headers.flatMap((line) => line.split(/\s{2,}/).slice(1))).toEqual(['deliveries', 'sent', 'pending', 'dead', 'unknown', 'expired', 'failed tries', 'median', 'p95', 'slowest'])
    expect(narrow.filter((line) => line.startsWith('partners')).flatMap((line) => line.split(/\s{2,}/).slice(1))).toEqual(['2', '1', '0', '1', '0', '0', '2', '5.0 s', '5.0 s', '5.0 s'])

    const csv = ok(h.run(['report', '--since', '7d', '--format', 'csv'])).stdout
    expect(csv.split('\r\n')).toEqual([
      'channel,announcements,deliveries,sent,pending,dead,unknown,expired,skipped,cancelled,tries,failed_tries,median_ms,p95_ms,slowest_ms',
      'partners,2,2,1,0,1,0,0,0,0,3,2,5000,5000,5000',
      'website,2,2,1,0,0,1,0,0,0,1,0,200,200,200',
      '(all),2,4,2,0,1,1,0,0,0,4,2,200,5000,5000',
      '',
    ])
  })

  it('an empty window says so; bad windows and clashing forms are one-line usage errors that change nothing', () => {
    const {h} = prepare()
    const before = storeFacts(h)
    const empty = ok(h.run(['report', '--since', '2000-01-01', '--until', '2000-02-01']))
    expect(empty.stdout.trim()).toBe('Deliveries queued from 2000-01-01T00:00:00Z until 2000-02-01T00:00:00Z: 0 announcements, 0 deliveries.')
    refused(h.run(['report', '--since', 'last tuesday']), 2, /^Error: --since "last tuesday" is not a time — use ISO 8601/)
    refused(h.run(['report', '--until', 'soon']), 2, /^Error: --until "soon" is not a time/)
    refused(h.run(['report', '--since', '1d', '--until', '2d']), 2, /^Error: --since \S+ is not before --until \S+ — give an earlier --since or a later --until$/)
    refused(h.run(['report', '--json', '--format', 'csv']), 2, /^Error: --json and --format csv ask for two forms — give one$/)
    // Further back than a Date reaches: a usage error, not "unexpected: Invalid time value" (exit 1).
    for (const args of [['report', '--since'], ['report', '--until'], ['audit', '--since'], ['list', '--since']]) {
      const flag = args[1]!
      refused(h.run([...args, '9999999999999999d']), 2, new RegExp(`^Error: ${flag} "9999999999999999d" is further back than any date — use ISO 8601 \\(2026-11-25\\) or a shorter duration \\(24h, 7d\\)$`))
    }
    expect(storeFacts(h)).toEqual(before)
    expect(explain(ok(h.run(['report', '--help'])))).toContain('queued to sent')
  })

  it('shows a cancelled column once something was cancelled, counted as not sent', () => {
    home = makeCrierHome()
    const h = home
    h.writeConfig(config)
    const world = makeWorld(config, {}, h.home)
    try {
      const [id] = world.queue(1)
      world.store.transaction(() => world.store.deliveries.cancelUndelivered(id!, 'cancelled by officer.author', Date.now()))
    } finally {
      world.close()
    }
    const table = ok(h.run(['report'])).stdout.split('\n')
    expect(table.find((line) => line.startsWith('channel'))!.split(/\s{2,}/)).toContain('cancelled')
    expect(table.find((line) => line.startsWith('total'))!.split(/\s{2,}/)).toEqual(['total', '2', '0', '0', '0', '0', '0', '2', '0', '—', '—', '—'])
  })
})
