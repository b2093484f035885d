import {mkdirSync, readFileSync, rmSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {createDraft, type DraftInput} from '../../src/core/drafting.js'
import {cancelAnnouncement, draftUpdate} from '../../src/core/follow-up.js'
import {closeDispatchers, openDispatcher} from '../helpers/dispatchers.js'
import {fanOut} from '../../src/engine/fan-out.js'
import {FeedRefresher} from '../../src/engine/feed-refresh.js'
import {registerBroadcastTestDriver} from '../helpers/broadcast-test-driver.js'
import {makeWorld, removeWorld, type World} from '../helpers/world.js'

// What the feed lists after a thread of Updates and Cancels: the latest word only — even when
// that word has expired, and when a message between went to other channels only.

registerBroadcastTestDriver('test-feed-partners')

let world: World | undefined
afterEach(async () => {
  await closeDispatchers()
  if (world) removeWorld(world)
  world = undefined
})

const config = 'timezone: Europe/London\nchannels:\n  website: {type: feed, dir: ./public}\n  partners: {type: test-feed-partners}\n'

function feedWorld() {
  world = makeWorld(config)
  const w = world
  let clock = Date.UTC(2026, 10, 27, 12, 0)
  w.ctx.now = () => clock
  const send = async (id: string) => {
    fanOut(w.ctx, id)
    const dispatcher = openDispatcher({store: w.store, config: w.config, now: () => clock})
    await dispatcher.run()
    await dispatcher.close()
  }
  const draft = (text: string, input: Partial<DraftInput> = {}) => createDraft(w.ctx, {text, severity: 'Minor', area: 'Conwy', expires: '+1d', channels: ['website', 'partners'], ...input}).id
  const titles = () => [...readFileSync(join(w.home, 'public', 'alerts.atom'), 'utf8').matchAll(/<title>([^<]*)<\/title>/g)].map((match) => match[1]).slice(1)
  return {w, send, draft, titles, advance: (ms: number) => (clock += ms)}
}

describe('the feed after follow-ups', () => {
  it('keeps an original withdrawn after its Update expired, and after the Update of a Cancel expired', async () => {
    const {w, send, draft, titles, advance} = feedWorld()
    const alert = draft('Evacuate Riverside Road now.')
    await send(alert)
    const allClear = draftUpdate(w.ctx, alert, {text: 'Riverside Road: all clear, you may return.', expires: '+1m', channels: []}).id
    await send(allClear)
    expect(titles()).toEqual(['Update: Riverside Road: all clear, you may return.'])
    advance(2 * 60_000)
    await send(draft('Pool closed.'))
    expect(titles()).toEqual(['Pool closed.'])

    const boil = draft('Boil water notice for Conwy.')
    await send(boil)
    const extended = draftUpdate(w.ctx, boil, {text: 'Boil water notice extended to Deganwy.', expires: '+1m', channels: []}).id
    await send(extended)
    const cancel = cancelAnnouncement(w.ctx, extended, 'Sent in error: there is no boil water notice.').followUp!.id
    await send(cancel)
    advance(2 * 60_000)
    await send(draft('Market cancelled.'))
    expect(titles()).toEqual(['Market cancelled.', 'Pool closed.'])
  })

  it('withdraws the whole thread when a message between went to other channels only', async () => {
    const {w, send, draft, titles} = feedWorld()
    const alert = draft('Gas leak on High Street. Stay indoors.')
    await send(alert)
    const partnersOnly = draftUpdate(w.ctx, alert, {text: 'Gas leak contained; still stay indoors.', channels: ['partners']}).id
    await send(partnersOnly)
    expect(titles()).toEqual(['Gas leak on High Street.'])
    const fixed = draftUpdate(w.ctx, partnersOnly, {text: 'Gas leak fixed. All clear.', instruction: '', channels: ['website', 'partners']}).id
    await send(fixed)
    expect(titles()).toEqual(['Update: Gas leak fixed.'])
  })
})

describe('a feed entry that expires with nothing sent after it', () => {
  it('leaves the feed at the next pass, which says once why it could not and tries again a minute later', async () => {
    const {w, send, draft, titles, advance} = feedWorld()
    await send(draft('Road closed until noon.', {expires: '+1m'}))
    await send(draft('Library closed today.'))
    const problems: string[] = []
    const refresher = new FeedRefresher(() => w.ctx, (_channel, line) => problems.push(line))
    await refresher.finish()
    expect(titles()).toEqual(['Library closed today.', 'Road closed until noon.'])
    const feedTitle = () => /<title>([^<]*)<\/title>/.exec(readFileSync(join(w.home, 'public', 'alerts.atom'), 'utf8'))![1]
    const titled = feedTitle()

    advance(2 * 60_000)
    // Something in the way of the feed's file: the rewrite fails, and is not marked done.
    const feedFile = join(w.home, 'public', 'alerts.atom')
    rmSync(feedFile)
    mkdirSync(feedFile)
    await refresher.finish()
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(/^website: an entry expired, but the feed could not be written again: cannot write .*alerts\.atom/)
    expect(w.store.deliveries.feedCheckedUntil('website')).toBe(0)
    rmSync(feedFile, {recursive: true})
    await refresher.finish()
    expect(problems).toHaveLength(1)
    advance(61_000)
    refresher.tick()
    await refresher.settle()
    expect(titles()).toEqual(['Library closed today.'])
    // Named as the sends name it: the sender, as config gives it.
    expect(feedTitle()).toBe(titled)
    expect(titled).toBe(w.config.sender)
    expect(w.store.deliveries.feedCheckedUntil('website')).toBe(w.ctx.now())
    expect(problems).toHaveLength(1)
  })
})
