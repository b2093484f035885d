import {afterEach, describe, expect, it} from 'vitest'
import {z} from 'zod'
import type {Driver} from '../../src/channels/driver.js'
import {RecipientOptedOutError} from '../../src/channels/errors.js'
import {driverFor, registerDriver} from '../../src/channels/registry.js'
import {closeDispatchers, openDispatcher} from '../helpers/dispatchers.js'
import {fanOut} from '../../src/engine/fan-out.js'
import {createDraft} from '../../src/core/drafting.js'
import {areaReachOf} from '../../src/core/area-reach.js'
import {areaReachLine} from '../../src/views/area-reach-lines.js'
import {UsageError} from '../../src/core/errors.js'
import {openStore} from '../../src/store/index.js'
import type {SubscriberInput} from '../../src/store/subscribers.js'
import {deliveryStateCounts, makeWorld, removeWorld, type World} from '../helpers/world.js'

// Per-recipient fan-out and sending, with a scripted phone driver: what it is given and when.
const sent: Array<{deliveryId: string; phone?: string; text: string; at: number}> = []
let optedOutPhones = new Set<string>()
const textDriver: Driver = {
  type: 'test-text',
  kind: 'per-recipient',
  config: z.object({audience: z.string()}),
  capabilities: {counts: 'characters', threads: false, media: false, idempotent: true, reconcile: false, contact: 'phone'},
  render: (announcement, variant, {recipient}) => ({parts: [{label: 'text', text: variant.description}], payload: {text: `${variant.language}: ${variant.description}`, to: recipient?.phone}}),
  send: async (payload, ctx) => {
    const {text} = payload as {text: string}
    if (ctx.recipient?.phone && optedOutPhones.has(ctx.recipient.phone)) throw new RecipientOptedOutError('Twilio 21610: unsubscribed recipient')
    sent.push({deliveryId: ctx.deliveryId, phone: ctx.recipient?.phone, text, at: Date.now()})
    return {providerId: `SM${sent.length}`}
  },
  check: async () => ({ok: true, detail: ''}),
}
if (!driverFor('test-text')) registerDriver(textDriver)

let world: World | undefined
afterEach(async () => {
  await closeDispatchers()
  if (world) removeWorld(world)
  world = undefined
  sent.length = 0
  optedOutPhones = new Set()
})

function residents(w: World, count: number, extra: (i: number) => Partial<SubscriberInput> = () => ({})): void {
  w.store.transaction(() => {
    for (let i = 0; i < count; i++) {
      w.store.subscribers.upsert({list: 'residents', name: `R${i}`, email: null, phone: `+4477009${String(i).padStart(5, '0')}`, language: null, lat: null, lon: null, zone: null, tags: [], ...extra(i)}, Date.now())
    }
  })
}

describe('per-recipient channels', () => {
  it('a targeted preview counts whom the fan-out will send to: inside, with a phone, not opted out', () => {
    world = makeWorld('channels:\n  residents-text: {type: test-text, audience: residents}\n')
    // 0-5 in zone RIV, 6-7 elsewhere; 1 and 2 have no phone; 3 opted out.
    residents(world, 8, (i) => ({zone: i < 6 ? 'RIV' : 'TOWN', ...(i === 1 || i === 2 ? {phone: null, email: `r${i}@example.org`} : {})}))
    world.store.subscribers.optOut('+447700900003', 'test', Date.now())
    const draft = createDraft(world.ctx, {text: 'River rising.', severity: 'Minor', channels: ['residents-text'], area: 'Riverside', zone: ['RIV']})
    const [reach] = areaReachOf(world.ctx, draft)
    expect(reach).toMatchObject({subscribers: 8, inside: 6, unplaced: 0, contact: 'phone', noContact: 2, optedOut: 1})
    expect(areaReachLine(reach!)).toBe('residents-text: the area takes in 6 of the 8 subscribers of residents, of whom 3 can be sent to (2 have no phone number, 1 opted out).')
    // As the fan-out then does it.
    expect(fanOut(world.ctx, draft.id).queued).toBe(3)
  })

  it('an area whose subscribers inside all lack the channel\'s contact (or opted out) is refused like an empty one, nothing queued', () => {
    world = makeWorld('channels:\n  residents-text: {type: test-text, audience: residents}\n')
    residents(world, 4, (i) => ({zone: i < 3 ? 'RIV' : 'TOWN', ...(i < 2 ? {phone: null, email: `r${i}@example.org`} : {})}))
    world.store.subscribers.optOut('+447700900002', 'test', Date.now())
    const draft = createDraft(world.ctx, {text: 'Sandbags at the library.', severity: 'Minor', channels: ['residents-text'], area: 'Riverside', zone: ['RIV']})
    expect(() => fanOut(world!.ctx, draft.id)).toThrow('channel residents-text: none of the 3 subscribers of "residents" inside the area can be sent to (2 have no phone number, 1 opted out) — nothing would go there; leave residents-text out')
    expect(deliveryStateCounts(world.store)).toEqual({})
  })

  it('fan out one delivery per subscriber, skip those without a phone, leave out the opted-out', async () => {
    world = makeWorld('channels:\n  residents-text: {type: test-text, audience: residents}\n')
    residents(world, 10, (i) => (i === 3 ? {phone: null, email: 'no-phone@example.org'} : {}))
    world.store.subscribers.optOut('+447700900005', 'test', Date.now())
    const [id] = world.queue(1)
    expect(deliveryStateCounts(world.store)).toEqual({queued: 8, skipped: 1})
    const skipped = world.store.db.prepare(`SELECT last_error FROM delivery WHERE state = 'skipped'`).pluck().get()
    expect(skipped).toBe('no phone number for this subscriber')
    const summary = await openDispatcher({store: world.store, config: world.config}).run()
    expect(summary.sent).toBe(8)
    expect(sent.map((s) => s.phone).sort()).toEqual(['+447700900000', '+447700900001', '+447700900002', '+447700900004', '+447700900006', '+447700900007', '+447700900008', '+447700900009'])
    expect(world.store.announcements.get(id!)!.state).toBe('sent')
    // Delivery ids are deterministic: announcement.channel.subscriber.
    expect(sent[0]!.deliveryId).toMatch(new RegExp(`^${id}\\.residents-text\\.\\d+$`))
  })

  it('sends each subscriber the variant in their language when there is one', async () => {
    world = makeWorld('languages: [en-GB]\nchannels:\n  residents-text: {type: test-text, audience: residents}\n')
    residents(world, 2, (i) => ({language: i === 0 ? 'cy-GB' : 'fr-FR'}))
    const [id] = world.queue(1, {text: 'Road closed.'})
    const a = world.store.announcements.get(id!)!
    world.store.db.prepare('UPDATE announcement SET variants_json = ? WHERE id = ?').run(JSON.stringify([...a.variants, {language: 'cy-GB', headline: 'Ffordd ar gau', description: 'Ffordd ar gau.'}]), id)
    await openDispatcher({store: world.store, config: world.config}).run()
    expect(sent.map((s) => s.text).sort()).toEqual(['cy-GB: Ffordd ar gau.', 'en-GB: Road closed.'])
  })

  it('a provider unsubscribed answer skips the delivery and opts the contact out for good', async () => {
    world = makeWorld('channels:\n  residents-text: {type: test-text, audience: residents}\n')
    residents(world, 3)
    optedOutPhones.add('+447700900001')
    world.queue(1)
    await openDispatcher({store: world.store, config: world.config}).run()
    expect(deliveryStateCounts(world.store)).toEqual({sent: 2, skipped: 1})
    expect(world.store.subscribers.isOptedOut('+447700900001')).toBe(true)
    sent.length = 0
    world.queue(1)
    await openDispatcher({store: world.store, config: world.config}).run()
    expect(sent.map((s) => s.phone)).not.toContain('+447700900001')
  })

  it('never sends to a subscriber who opted out, lost their phone or was removed after the fan-out', async () => {
    world = makeWorld('channels:\n  residents-text: {type: test-text, audience: residents}\n')
    residents(world, 5)
    world.queue(1)
    const now = Date.now()
    world.store.subscribers.optOut('+447700900001', 'STOP reply', now)
    world.store.db.prepare(`UPDATE subscriber SET phone = NULL, email = 'moved@example.org' WHERE phone = '+447700900002'`).run()
    world.store.db.prepare(`UPDATE delivery SET recipient = '999999' WHERE recipient = (SELECT id FROM subscriber WHERE phone = '+447700900003')`).run()
    const summary = await openDispatcher({store: world.store, config: world.config}).run()
    expect(summary.sent).toBe(2)
    expect(sent.map((s) => s.phone).sort()).toEqual(['+447700900000', '+447700900004'])
    const skipped = world.store.db.prepare(`SELECT last_error FROM delivery WHERE state = 'skipped' ORDER BY last_error`).pluck().all()
    expect(skipped).toEqual(['no phone for this subscriber', 'opted out since the broadcast was queued', 'subscriber removed since the broadcast was queued'])
    // Nothing was tried for them: no attempt counted, as none is recorded ("1 attempt" would say otherwise).
    const tries = world.store.db.prepare(`SELECT d.attempts, (SELECT count(*) FROM attempt a WHERE a.delivery_id = d.id) AS rows FROM delivery d WHERE d.state = 'skipped'`).all()
    expect(tries).toEqual([0, 0, 0].map(() => ({attempts: 0, rows: 0})))
  })

  it("counts each announcement's retries and errors on its own, per-recipient and broadcast channels alike", () => {
    world = makeWorld('channels:\n  residents-text: {type: test-text, audience: residents}\n  partners: {type: webhook, url: "http://127.0.0.1:9/hook"}\n')
    residents(world, 4)
    const [first, second] = world.queue(2)
    const now = Date.now()
    const store = world.store
    const claimed = store.transaction(() =>
      ['residents-text', 'partners'].flatMap((channel) => store.deliveries.claimDue({channel, owner: 'me:1:x', now, leaseUntil: now + 60_000, limit: 100})),
    )
    const outcome = (id: string, outcome: 'sent' | 'transient' | 'permanent', nextState: 'sent' | 'failed' | 'dead', error?: string) =>
      ({id, owner: 'me:1:x', startedAt: now, durationMs: 5, outcome, nextState, ...(error && {error, dueAt: now + 1000})}) as const
    // The first announcement: one subscriber to be retried, one refused for good, its partner webhook retried.
    // The second: every one sent.
    const ofFirst = claimed.filter((d) => d.announcementId === first)
    const [retried, refused, ...others] = ofFirst.filter((d) => d.channel === 'residents-text')
    const partner = ofFirst.find((d) => d.channel === 'partners')!
    store.transaction(() =>
      store.deliveries.recordResults(
        [
          outcome(retried!.id, 'transient', 'failed', 'HTTP 503'),
          outcome(refused!.id, 'permanent', 'dead', 'Twilio 21211: invalid number'),
          outcome(partner.id, 'transient', 'failed', 'HTTP 502'),
          ...others.map((d) => outcome(d.id, 'sent', 'sent')),
          ...claimed.filter((d) => d.announcementId === second).map((d) => outcome(d.id, 'sent', 'sent')),
        ],
        now + 10,
      ),
    )
    const counts = (id: string) => store.deliveries.countsByChannel(id).map(({channel, sent, failed, dead, retries, lastError, lastErrorState}) => ({channel, sent, failed, dead, retries, lastError, lastErrorState}))
    expect(counts(first!)).toEqual([
      {channel: 'partners', sent: 0, failed: 1, dead: 0, retries: 1, lastError: 'HTTP 502', lastErrorState: 'failed'},
      {channel: 'residents-text', sent: 2, failed: 1, dead: 1, retries: 1, lastError: 'Twilio 21211: invalid number', lastErrorState: 'dead'},
    ])
    expect(counts(second!)).toEqual([
      {channel: 'partners', sent: 1, failed: 0, dead: 0, retries: 0, lastError: null, lastErrorState: null},
      {channel: 'residents-text', sent: 4, failed: 0, dead: 0, retries: 0, lastError: null, lastErrorState: null},
    ])
  })

  it('refuses a broadcast to an audience with no subscribers, queueing nothing', () => {
    world = makeWorld('channels:\n  residents-text: {type: test-text, audience: residents}\n')
    expect(() => world!.queue(1)).toThrow(/audience "residents" has no subscribers/)
    expect(deliveryStateCounts(world.store)).toEqual({})
    expect(world.store.announcements.count()).toBe(0)
  })

  it('two dispatchers in two connections together keep the configured rate', async () => {
    world = makeWorld('channels:\n  residents-text: {type: test-text, audience: residents, rate: 20/s, concurrency: 8}\n')
    residents(world, 60)
    world.queue(1)
    const other = openStore(`${world.home}/crier.db`)
    try {
      const started = Date.now()
      await Promise.all([openDispatcher({store: world.store, config: world.config}).run(), openDispatcher({store: other, config: world.config}).run()])
      expect(sent).toHaveLength(60)
      // A bucket of a tenth of a second (2) to start, then 20/s: the other 58 need 2.9 s at least.
      expect(sent.at(-1)!.at - started).toBeGreaterThanOrEqual(2800)
      // Never much over the rate in any second, the first included (a second's bucket let 40 through).
      for (const window of sent) {
        const inSecond = sent.filter((s) => s.at >= window.at && s.at < window.at + 1000).length
        expect(inSecond).toBeLessThanOrEqual(23)
      }
    } finally {
      other.close()
    }
  })

  it('a targeted announcement goes only to the subscribers inside its area (shape or zone), never to the opted-out among them', async () => {
    world = makeWorld('channels:\n  residents-text: {type: test-text, audience: residents}\n  website: {type: feed, dir: ./public}\n')
    const places = [
      {lat: 53.138, lon: -3.795, zone: null}, // 0: Llanrwst, inside the circle
      {lat: 53.093, lon: -3.801, zone: null}, // 1: Betws-y-Coed, 5 km away: outside
      {lat: null, lon: null, zone: 'LL26-riverside'}, // 2: by zone
      {lat: null, lon: null, zone: 'LL57-bangor'}, // 3: another zone: outside
      {lat: null, lon: null, zone: null}, // 4: cannot be placed
      {lat: 53.139, lon: -3.796, zone: null}, // 5: inside, but opted out
    ]
    residents(world, places.length, (i) => places[i]!)
    world.store.subscribers.optOut('+447700900005', 'test', Date.now())
    const ctx = world.ctx
    const draft = createDraft(ctx, {text: 'Flood warning: leave the riverside now.', severity: 'Minor', channels: ['residents-text', 'website'], area: 'Llanrwst riverside', circle: ['53.138,-3.795 2'], zone: ['LL26-riverside']})
    const result = fanOut(ctx, draft.id)
    expect(result.targeting).toEqual([{channel: 'residents-text', list: 'residents', subscribers: 6, inside: 3, unplaced: 1, contact: 'phone', noContact: 0, optedOut: 1}])
    // The public channel is not narrowed: one delivery, as always.
    expect(result.queued).toBe(3)
    await openDispatcher({store: world.store, config: world.config}).run()
    expect(sent.map((s) => s.phone).sort()).toEqual(['+447700900000', '+447700900002'])
  })

  it('refuses an area that takes in no subscriber, queueing nothing; a dry run says the same', () => {
    world = makeWorld('channels:\n  residents-text: {type: test-text, audience: residents}\n')
    residents(world, 3, (i) => ({lat: 51.5 + i / 100, lon: -0.12, zone: null}))
    const draft = createDraft(world.ctx, {text: 'Flood warning.', severity: 'Minor', channels: ['residents-text'], area: 'Llanrwst', circle: ['53.138,-3.795 2']})
    for (const dryRun of [true, false]) {
      expect(() => fanOut(world!.ctx, draft.id, {dryRun})).toThrow(UsageError)
      expect(() => fanOut(world!.ctx, draft.id, {dryRun})).toThrow('channel residents-text: no subscriber of "residents" is inside the area — check --circle, --polygon and --zone, or leave residents-text out')
    }
    expect(deliveryStateCounts(world.store)).toEqual({})
    expect(world.store.announcements.get(draft.id)!.state).toBe('draft')
  })
})
