import {afterEach, describe, expect, it} from 'vitest'
import {closeDispatchers, openDispatcher} from '../helpers/dispatchers.js'
import {startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {makeWorld, removeWorld, type World} from '../helpers/world.js'

// A force with a Welsh-language account configures it as its own channel (language: cy): the
// engine posts the Welsh there and the English on the account that has no language set.

let world: World | undefined
let fake: ProviderFake | undefined
afterEach(async () => {
  await closeDispatchers()
  if (world) removeWorld(world)
  world = undefined
  await fake?.close()
  fake = undefined
})

describe('a channel with a language', () => {
  it('is sent the text in its language; a channel without one, the first', async () => {
    fake = await startProviderFake()
    world = makeWorld(`languages: [en-GB, cy-GB]\nchannels:\n  partners: {type: webhook, url: "${fake.url}/en"}\n  partners-cy: {type: webhook, url: "${fake.url}/cy", language: cy}\n`)
    const [id] = world.queue(1, {text: 'The A55 is closed.', headline: 'A55 closed'})
    const stored = world.store.announcements.get(id!)!
    world.store.db.prepare('UPDATE announcement SET variants_json = ? WHERE id = ?').run(JSON.stringify([...stored.variants, {language: 'cy-GB', headline: 'A55 ar gau', description: 'Mae’r A55 ar gau.'}]), id)
    const summary = await openDispatcher({store: world.store, config: world.config}).run({announcementId: id})
    expect(summary.sent).toBe(2)
    const bodies = Object.fromEntries(fake.requests.map((request) => [request.path, JSON.parse(request.body)]))
    expect(bodies['/en']).toMatchObject({language: 'en-GB', headline: 'A55 closed'})
    expect(bodies['/cy']).toMatchObject({language: 'cy-GB', headline: 'A55 ar gau', description: 'Mae’r A55 ar gau.'})
  })
})
