import {afterEach, describe, expect, it} from 'vitest'
import {z} from 'zod'
import type {Driver} from '../../src/channels/driver.js'
import {InDoubtSendError, TransientSendError} from '../../src/channels/errors.js'
import {driverFor, registerDriver} from '../../src/channels/registry.js'
import {cancelAnnouncement, draftUpdate} from '../../src/core/follow-up.js'
import {scheduleAnnouncement} from '../../src/core/scheduling.js'
import {closeDispatchers, openDispatcher} from '../helpers/dispatchers.js'
import {fanOut} from '../../src/engine/fan-out.js'
import {registerBroadcastTestDriver} from '../helpers/broadcast-test-driver.js'
import {makeWorld, removeWorld, type World} from '../helpers/world.js'

// A Cancel on a per-recipient channel (SMS, e-mail) goes to the people the original reached
// there — sent, being sent, or in doubt — and who have not opted out since; not to the rest.

const texts: Array<{phone?: string; text: string}> = []
const textDriver: Driver = {
  type: 'test-cancel-text',
  kind: 'per-recipient',
  config: z.object({audience: z.string()}),
  capabilities: {counts: 'characters', threads: false, media: false, idempotent: true, reconcile: false, contact: 'phone'},
  render: (_announcement, variant, {recipient}) => ({parts: [{label: 'text', text: variant.description}], payload: {text: `${variant.headline} — ${variant.description}`, to: recipient?.phone}}),
  send: async (payload, ctx) => {
    texts.push({phone: ctx.recipient?.phone, text: (payload as {text: string}).text})
    return {providerId: `SM${texts.length}`}
  },
  check: async () => ({ok: true, detail: ''}),
}
if (!driverFor('test-cancel-text')) registerDriver(textDriver)

let world: World | undefined
afterEach(async () => {
  await closeDispatchers()
  if (world) removeWorld(world)
  world = undefined
  texts.length = 0
})

const phone = (i: number) => `+4477009${String(i).padStart(5, '0')}`

describe('cancelling on a per-recipient channel', () => {
  it('stops the texts not yet sent and sends the Cancel only to those who had the message', async () => {
    world = makeWorld('channels:\n  residents-text: {type: test-cancel-text, audience: residents}\n')
    const {store, ctx} = world
    store.transaction(() => {
      for (let i = 0; i < 6; i++) store.subscribers.upsert({list: 'residents', name: `R${i}`, email: null, phone: phone(i), language: null, lat: null, lon: null, zone: null, tags: []}, Date.now())
    })
    const [id] = world.queue(1, {text: 'Evacuate now.', headline: 'Evacuate Llanrwst'})
    // Mid-broadcast: 0 and 1 had it, 2 is being sent, 3 is in doubt, 4 waits to retry, 5 is queued.
    const states = ['sent', 'sent', 'sending', 'unknown', 'failed', 'queued']
    // The one being sent is held by a sender that has since died (its lease ran out).
    const setState = store.db.prepare(`UPDATE delivery SET state = @state, lease_owner = CASE WHEN @state = 'sending' THEN 'gone:1:x' END,
      lease_until = CASE WHEN @state = 'sending' THEN 0 END
      WHERE announcement_id = @id AND recipient = (SELECT CAST(id AS TEXT) FROM subscriber WHERE phone = @phone)`)
    states.forEach((state, i) => setState.run({state, id, phone: phone(i)}))
    // 1 opted out after the original reached them: not texted again.
    store.subscribers.optOut(phone(1), 'test', Date.now())

    const result = cancelAnnouncement(ctx, id!, 'Sent in error: no evacuation.')
    expect(result).toMatchObject({stopped: 2, inFlight: 1})
    expect(result.announcement.state).toBe('cancelled')
    expect(result.followUp).toMatchObject({msgType: 'Cancel', references: id, channels: ['residents-text']})
    const stoppedStates = store.db.prepare(`SELECT state, count(*) AS n FROM delivery WHERE announcement_id = ? GROUP BY state ORDER BY state`).all(id) as Array<{state: string; n: number}>
    expect(Object.fromEntries(stoppedStates.map((row) => [row.state, row.n]))).toEqual({cancelled: 2, sending: 1, sent: 2, unknown: 1})

    expect(fanOut(ctx, result.followUp!.id).queued).toBe(3)
    await openDispatcher({store, config: world.config}).run({announcementId: result.followUp!.id})
    expect(texts.map((t) => t.phone).sort()).toEqual([phone(0), phone(2), phone(3)])
    expect(texts[0]!.text).toBe('Cancelled: Evacuate Llanrwst — Sent in error: no evacuation.')
  })

  it('records in the audit trail what the announcement did, once nothing of it is still being sent', async () => {
    world = makeWorld('channels:\n  residents-text: {type: test-cancel-text, audience: residents}\n')
    const {store, ctx} = world
    store.transaction(() => {
      for (let i = 0; i < 4; i++) store.subscribers.upsert({list: 'residents', name: `R${i}`, email: null, phone: phone(i), language: null, lat: null, lon: null, zone: null, tags: []}, Date.now())
    })
    const [held, settled] = world.queue(2, {text: 'Gas leak: stay indoors.', headline: 'Gas leak'})
    const setState = store.db.prepare(`UPDATE delivery SET state = @state, lease_owner = CASE WHEN @state = 'sending' THEN 'gone:1:x' END,
      lease_until = CASE WHEN @state = 'sending' THEN 0 END WHERE announcement_id = @id AND recipient = (SELECT CAST(id AS TEXT) FROM subscriber WHERE phone = @phone)`)
    ;['sent', 'sent', 'sending', 'queued'].forEach((state, i) => setState.run({state, id: held, phone: phone(i)}))
    ;['sent', 'queued', 'queued', 'queued'].forEach((state, i) => setState.run({state, id: settled, phone: phone(i)}))
    const results = (id: string) => store.audit.latestOf(id, 'send-result').map((event) => event.details)

    // Nothing of it in flight: recorded with the cancel.
    cancelAnnouncement(ctx, settled!, 'Sent in error.')
    expect(results(settled!)).toEqual([{from: 'sending', to: 'cancelled', channels: {'residents-text': {cancelled: 3, sent: 1}}}])

    // One held by a sender (here, one that died): recorded once it settles, and only once.
    expect(cancelAnnouncement(ctx, held!, 'Sent in error.').inFlight).toBe(1)
    expect(results(held!)).toEqual([])
    await openDispatcher({store, config: world.config}).run()
    expect(results(held!)).toEqual([{from: 'sending', to: 'cancelled', channels: {'residents-text': {cancelled: 1, sent: 2, unknown: 1}}}])
  })

  it('reads the original once for the whole Cancel, not once per recipient', async () => {
    world = makeWorld('channels:\n  residents-text: {type: test-cancel-text, audience: residents}\n')
    const {store, ctx} = world
    const reached = 40
    store.transaction(() => {
      for (let i = 0; i < reached; i++) store.subscribers.upsert({list: 'residents', name: `R${i}`, email: null, phone: phone(i), language: null, lat: null, lon: null, zone: null, tags: []}, Date.now())
    })
    const [id] = world.queue(1, {text: 'Evacuate now.', headline: 'Evacuate Llanrwst'})
    store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ?`).run(id)
    const {followUp} = cancelAnnouncement(ctx, id!, 'Sent in error.')
    expect(fanOut(ctx, followUp!.id).queued).toBe(reached)

    const reads = new Map<string, number>()
    const get = store.announcements.get.bind(store.announcements)
    store.announcements.get = (wanted: string) => {
      reads.set(wanted, (reads.get(wanted) ?? 0) + 1)
      return get(wanted)
    }
    const rendered: Array<string | undefined> = []
    const render = textDriver.render
    textDriver.render = (announcement, variant, context) => {
      rendered.push(context.referenced?.id)
      return render(announcement, variant, context)
    }
    try {
      await openDispatcher({store, config: world.config}).run({announcementId: followUp!.id})
    } finally {
      textDriver.render = render
    }
    expect(texts).toHaveLength(reached)
    expect(rendered).toEqual(Array.from({length: reached}, () => id))
    expect(reads.get(id!)).toBe(1)
    expect(reads.get(followUp!.id) ?? 0).toBeLessThanOrEqual(2)
  })
})

describe('an Update that is no longer the latest word', () => {
  registerBroadcastTestDriver('test-follow-up')
  async function sentOriginal(w: World): Promise<string> {
    const [id] = w.queue(1, {text: 'The A55 is closed westbound.', headline: 'A55 closed'})
    await openDispatcher({store: w.store, config: w.config}).run({announcementId: id})
    return id!
  }

  it('an Update queued but not yet heard by anyone, cancelled, withdraws only itself: no Cancel of the story, the original stands', async () => {
    world = makeWorld('channels:\n  notice: {type: test-follow-up}\n')
    const {supersededBy} = await import('../../src/core/superseded.js')
    const original = await sentOriginal(world)
    const update = draftUpdate(world.ctx, original, {text: 'The A55 reopens at 18:00.', channels: []})
    fanOut(world.ctx, update.id)
    const result = cancelAnnouncement(world.ctx, update.id, 'Sent in error.')
    expect(result.followUp).toBeUndefined()
    expect(result.stopped).toBe(1)
    expect(world.store.announcements.get(update.id)?.state).toBe('cancelled')
    expect(world.store.announcements.get(original)?.state).toBe('sent')
    expect(supersededBy(world.ctx, [original]).get(original)).toBeUndefined()
    // The original can still be cancelled, once, with a Cancel naming only it.
    const {followUp: cancel} = cancelAnnouncement(world.ctx, original, 'Sent in error.')
    expect(cancel).toMatchObject({msgType: 'Cancel', references: original})
  })

  it('a Cancel of an Update, sent or still going out, marks the original cancelled too in what lists show', async () => {
    world = makeWorld('channels:\n  notice: {type: test-follow-up}\n')
    const {supersededBy} = await import('../../src/core/superseded.js')
    // Cancelled while it was going out: the Update's own state is cancelled.
    const original = await sentOriginal(world)
    const update = draftUpdate(world.ctx, original, {text: 'The A55 reopens at 18:00.', channels: []})
    fanOut(world.ctx, update.id)
    expect(supersededBy(world.ctx, [original]).get(original)).toEqual({updatedBy: update.id})
    // On the wire when the cancel comes: it may have reached someone.
    world.store.db.prepare(`UPDATE delivery SET state = 'sending', lease_owner = 'sender:1', lease_until = ? WHERE announcement_id = ?`).run(Date.now() + 60_000, update.id)
    const {followUp: cancel} = cancelAnnouncement(world.ctx, update.id, 'Sent in error.')
    expect(world.store.announcements.get(update.id)?.state).toBe('cancelled')
    // Drafted, not yet sent: the public is not told yet.
    expect(supersededBy(world.ctx, [original]).get(original)).toEqual({cancelNotSent: cancel!.id})
    fanOut(world.ctx, cancel!.id)
    expect(supersededBy(world.ctx, [original]).get(original)).toEqual({cancelledBy: cancel!.id})

    // Sent in full before the cancel: still updated by it, and cancelled with it.
    const second = await sentOriginal(world)
    const secondUpdate = draftUpdate(world.ctx, second, {text: 'The A55 reopens at 19:00.', channels: []})
    fanOut(world.ctx, secondUpdate.id)
    await openDispatcher({store: world.store, config: world.config}).run({announcementId: secondUpdate.id})
    const {followUp: secondCancel} = cancelAnnouncement(world.ctx, secondUpdate.id, 'Sent in error.')
    fanOut(world.ctx, secondCancel!.id)
    expect(supersededBy(world.ctx, [second]).get(second)).toEqual({updatedBy: secondUpdate.id, cancelledBy: secondCancel!.id})
  })

  it('is withdrawn when the original is cancelled after it was drafted, and nothing of it is queued', async () => {
    world = makeWorld('channels:\n  notice: {type: test-follow-up}\n')
    const original = await sentOriginal(world)
    const update = draftUpdate(world.ctx, original, {text: 'The A55 reopens at 18:00.', channels: []})
    const {followUp: cancel, withdrawnUpdates} = cancelAnnouncement(world.ctx, original, 'Sent in error.')
    expect(withdrawnUpdates).toEqual([update.id])
    expect(world.store.announcements.get(update.id)?.state).toBe('cancelled')
    expect(() => fanOut(world!.ctx, update.id)).toThrow(/^cannot broadcast \w+ — it was cancelled/)
    expect(() => scheduleAnnouncement(world!.ctx, update.id, {at: 'in 2 hours'})).toThrow(/it was cancelled/)
    expect(world.store.db.prepare('SELECT count(*) FROM delivery WHERE announcement_id = ?').pluck().get(update.id)).toBe(0)
    // The Cancel itself still goes.
    expect(fanOut(world.ctx, cancel!.id).queued).toBe(1)
  })

  it('is refused when another Update of the same original went out first', async () => {
    world = makeWorld('channels:\n  notice: {type: test-follow-up}\n')
    const original = await sentOriginal(world)
    const first = draftUpdate(world.ctx, original, {text: 'The A55 reopens at 18:00.', channels: []})
    const second = draftUpdate(world.ctx, original, {text: 'The A55 reopens at 19:00.', channels: []})
    expect(fanOut(world.ctx, first.id).queued).toBe(1)
    expect(() => fanOut(world!.ctx, second.id)).toThrow(/was updated by \w+ since; update that instead \(crier update \w+ …\)$/)
  })
})

describe('an Update going out in place of an original still being sent', () => {
  registerBroadcastTestDriver('test-superseded')

  it('stops what of the original has not gone where the Update goes — same channel, same recipient — and lets the rest run', async () => {
    world = makeWorld('channels:\n  residents-text: {type: test-cancel-text, audience: residents}\n  notice: {type: test-superseded}\n  partners: {type: test-superseded}\n')
    const {store, ctx} = world
    store.transaction(() => {
      for (let i = 0; i < 5; i++) store.subscribers.upsert({list: 'residents', name: `R${i}`, email: null, phone: phone(i), language: null, lat: null, lon: null, zone: null, tags: []}, Date.now())
    })
    const [original] = world.queue(1, {text: 'Evacuate Zone A.', headline: 'Evacuate Zone A'})
    // Mid-broadcast: texts to 0 and 1 went, 2 is being sent, 3 waits to retry, 4 is queued; the
    // notice went out, partners is still queued.
    const byPhone = store.db.prepare(`UPDATE delivery SET state = ? WHERE announcement_id = ? AND recipient = (SELECT CAST(id AS TEXT) FROM subscriber WHERE phone = ?)`)
    ;['sent', 'sent', 'sending', 'failed', 'queued'].forEach((state, i) => byPhone.run(state, original, phone(i)))
    store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ? AND channel = 'notice'`).run(original)
    // 4 opted out since: the Update has no text for them, so the original's stays theirs.
    store.subscribers.optOut(phone(4), 'test', Date.now())

    // The Update goes to the texts and the notice, not to partners.
    const update = draftUpdate(ctx, original!, {text: 'Evacuate Zones A and B.', headline: 'Evacuate Zones A and B', channels: ['residents-text', 'notice']})
    const result = fanOut(ctx, update.id)
    // 2's text is held by a sender: counted apart, as cancel counts it.
    expect(result.superseded).toEqual({id: original, stopped: 1, held: 1})
    const states = store.db.prepare(`SELECT channel, recipient, state, last_error AS error FROM delivery WHERE announcement_id = ? ORDER BY channel, CAST(recipient AS INTEGER)`).all(original) as Array<{channel: string; recipient: string | null; state: string; error: string | null}>
    expect(states.map(({channel, state}) => `${channel} ${state}`)).toEqual([
      'notice sent',
      'partners queued',
      'residents-text sent',
      'residents-text sent',
      'residents-text sending',
      'residents-text cancelled',
      'residents-text queued',
    ])
    expect(states.find((row) => row.state === 'cancelled')!.error).toBe(`superseded by Update ${update.id.slice(0, 12)} before it was sent`)
    const [event] = store.audit.list({subject: original}).filter((e) => e.action === 'superseded')
    expect(JSON.parse(event!.details)).toEqual({by: update.id, stopped: 1, held: 1})
    // The original is still sending (2's text in flight, partners, 4): nothing it began is dropped.
    expect(store.announcements.get(original!)?.state).toBe('sending')
  })

  it('finishes the original when the Update stopped the last of it', async () => {
    world = makeWorld('channels:\n  notice: {type: test-superseded}\n  partners: {type: test-superseded}\n')
    const {store, ctx} = world
    const [original] = world.queue(1, {text: 'The A55 is closed westbound.', headline: 'A55 closed'})
    store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ? AND channel = 'notice'`).run(original)
    const update = draftUpdate(ctx, original!, {text: 'The A55 reopens at 18:00.', channels: []})
    expect(fanOut(ctx, update.id).superseded).toEqual({id: original, stopped: 1, held: 0})
    expect(store.announcements.get(original!)?.state).toBe('sent')
    await openDispatcher({store, config: world.config}).run({announcementId: update.id})
    expect(store.announcements.get(update.id)?.state).toBe('sent')
  })
})

describe('cancelling a thread', () => {
  let partnerAnswers: 'refuse' | 'no answer' | 'ok' = 'ok'
  registerBroadcastTestDriver('test-thread-feed')
  registerBroadcastTestDriver('test-thread-partner', {
    idempotent: true,
    send: () => {
      if (partnerAnswers === 'refuse') throw new TransientSendError('connection refused')
      if (partnerAnswers === 'no answer') throw new InDoubtSendError('timed out after 1000 ms')
    },
  })
  const config = 'channels:\n  notice: {type: test-thread-feed}\n  partners: {type: test-thread-partner, maxAttempts: 1}\n'

  it('a Cancel of an Update also stops the original, and goes wherever either reached', async () => {
    world = makeWorld(config)
    const {store, ctx} = world
    partnerAnswers = 'ok'
    const [original] = world.queue(1, {text: 'Power cut in Conwy.', headline: 'Power cut'})
    // The notice went out; the partner copy is still waiting.
    store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ? AND channel = 'notice'`).run(original)
    const update = draftUpdate(ctx, original!, {text: 'Power restored in Conwy.', headline: 'Power restored', channels: ['notice']})
    fanOut(ctx, update.id)
    store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ?`).run(update.id)
    // A Cancel of the Update: the original's partner copy stops too, and nothing of the thread is left.
    const result = cancelAnnouncement(ctx, update.id, 'Sent in error.')
    expect(result.stopped).toBe(1)
    expect(store.db.prepare(`SELECT state FROM delivery WHERE announcement_id = ? AND channel = 'partners'`).pluck().get(original)).toBe('cancelled')
    expect(store.announcements.get(original!)?.state).toBe('cancelled')
    expect(result.followUp?.channels).toEqual(['notice'])
  })

  it('a Cancel goes where a try got no answer (the partner may have it), not where every try was refused', async () => {
    world = makeWorld(config)
    const {store, ctx} = world
    partnerAnswers = 'no answer'
    const [timedOut] = world.queue(1, {text: 'Water off in Conwy.', headline: 'Water off'})
    await openDispatcher({store, config: world.config}).run({announcementId: timedOut})
    expect(store.db.prepare(`SELECT state FROM delivery WHERE announcement_id = ? AND channel = 'partners'`).pluck().get(timedOut)).toBe('dead')
    expect(cancelAnnouncement(ctx, timedOut!, 'Sent in error.').followUp?.channels).toEqual(['notice', 'partners'])

    partnerAnswers = 'refuse'
    const [refused] = world.queue(1, {text: 'Gas leak in Conwy.', headline: 'Gas leak'})
    await openDispatcher({store, config: world.config}).run({announcementId: refused})
    expect(store.db.prepare(`SELECT state FROM delivery WHERE announcement_id = ? AND channel = 'partners'`).pluck().get(refused)).toBe('dead')
    expect(cancelAnnouncement(ctx, refused!, 'Sent in error.').followUp?.channels).toEqual(['notice'])
  })
})

describe('cancelling what has expired', () => {
  registerBroadcastTestDriver('test-expired-notice')

  it('drafts no Cancel: nothing of it is in force, and one without an expiry would only be refused', () => {
    world = makeWorld('channels:\n  notice: {type: test-expired-notice}\n')
    const [id] = world.queue(1, {text: 'Road closed until noon.', headline: 'Road closed', expires: '+1h'})
    world.store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ?`).run(id)
    const expiresAt = world.store.announcements.get(id!)!.expiresAt!
    const later = {...world.ctx, now: () => expiresAt + 60_000}
    const result = cancelAnnouncement(later, id!, 'Sent in error.')
    expect(result.followUp).toBeUndefined()
    expect(result.expiredAt).toBe(expiresAt)
    // Before it expired, the same cancel would have told the channel it reached.
    const [current] = world.queue(1, {text: 'Road closed until noon.', headline: 'Road closed', expires: '+1h'})
    world.store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ?`).run(current)
    expect(cancelAnnouncement(world.ctx, current!, 'Sent in error.').followUp?.channels).toEqual(['notice'])
  })
})

describe("a Cancel's language", () => {
  registerBroadcastTestDriver('test-cancel-language')

  it("crier's own line is English and says so, where the original was Welsh first; the officer's words keep the original's language", async () => {
    // Tagged cy-GB, "The message … is cancelled" went to CAP readers and feeds as Welsh.
    world = makeWorld('languages: [cy-GB, en-GB]\nchannels:\n  hysbysiad: {type: test-cancel-language}\n')
    const sent = async (text: string) => {
      const [id] = world!.queue(1, {text, headline: text})
      await openDispatcher({store: world!.store, config: world!.config}).run({announcementId: id})
      return id!
    }
    const first = await sent('Ffordd ar gau ym Metws.')
    expect(world.store.announcements.get(first)!.variants[0]!.language).toBe('cy-GB')
    const ours = cancelAnnouncement(world.ctx, first, undefined).followUp!
    expect(world.store.announcements.get(ours.id)!.variants).toEqual([expect.objectContaining({language: 'en-GB', description: 'The message "Ffordd ar gau ym Metws." is cancelled. Please disregard it.'})])
    const second = await sent('Ffordd ar gau yn Nolgellau.')
    const theirs = cancelAnnouncement(world.ctx, second, "Mae'r ffordd ar agor.").followUp!
    expect(world.store.announcements.get(theirs.id)!.variants).toEqual([expect.objectContaining({language: 'cy-GB', description: "Mae'r ffordd ar agor."})])
  })
})
