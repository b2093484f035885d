import {afterEach, describe, expect, it} from 'vitest'
import {exited, ok, refused} from '../helpers/cli-assertions.js'
import {jsonOf, makeCrierHome, storeFacts, type CrierHome} from '../helpers/cli.js'

// crier draft --template through the built CLI, as a cron job or a script would run it.

let home: CrierHome | undefined
afterEach(() => {
  home?.cleanup()
  home = undefined
})

const config = `channels:
  website: {type: feed, dir: ./public}
  partners: {type: webhook, url: "http://127.0.0.1:9/hook"}
templates:
  road-closure:
    headline: "{road} closed {direction}"
    text: "The {road} is closed {direction} between {junctions}. Expect delays until {until}."
    severity: Moderate
    urgency: Expected
    certainty: Observed
    category: Transport
    event: Road closure
    area: "{area}"
    expires: +6h
    channels: [website]
`
const vars = ['--var', 'road=A55', '--var', 'direction=westbound', '--var', 'junctions=J11 and J12', '--var', 'until=18:00', '--var', 'area=Bangor, Gwynedd']

describe('crier draft --template', () => {
  it('drafts from the template with the placeholders filled; flags, text and channels given win over its fields', () => {
    home = makeCrierHome()
    const h = home
    h.writeConfig(config)
    const plain = jsonOf(ok(h.run(['draft', '--template', 'road-closure', ...vars, '--json'])))
    expect(plain).toMatchObject({
      severity: 'Moderate', urgency: 'Expected', certainty: 'Observed', category: 'Transport', event: 'Road closure',
      area: {description: 'Bangor, Gwynedd'}, channels: ['website'], headline: 'A55 closed westbound',
      variants: [{headline: 'A55 closed westbound', description: 'The A55 is closed westbound between J11 and J12. Expect delays until 18:00.'}],
    })
    expect(plain.expiresAt - plain.createdAt).toBe(6 * 3_600_000)

    const own = jsonOf(ok(h.run(['draft', 'The A55 is shut both ways after a crash.', '--template', 'road-closure', ...vars, '--severity', 'Severe', '--channel', 'website,partners', '--json'])))
    expect(own).toMatchObject({severity: 'Severe', urgency: 'Expected', channels: ['website', 'partners'], headline: 'A55 closed westbound', variants: [{description: 'The A55 is shut both ways after a crash.'}]})

    // Placeholders typed beside the template are filled as the template's are.
    const typed = jsonOf(ok(h.run(['draft', 'Avoid the {road} today.', '--template', 'road-closure', ...vars, '--headline', '{road} shut', '--json'])))
    expect(typed).toMatchObject({headline: 'A55 shut', variants: [{headline: 'A55 shut', description: 'Avoid the A55 today.'}]})
  })

  it('refuses a missing or unused --var, --var without --template and an unknown template: one line, exit 2, nothing drafted', () => {
    home = makeCrierHome()
    const h = home
    h.writeConfig(config)
    ok(h.run(['list']))
    const before = storeFacts(h)
    refused(h.run(['draft', '--template', 'road-closure', '--var', 'road=A55']), 2, /^Error: template road-closure needs --var direction=…, --var junctions=…, --var until=…, --var area=…$/)
    refused(h.run(['draft', '--template', 'road-closure', ...vars, '--var', 'colour=red']), 2, /^Error: --var colour: template road-closure has no \{colour\} — its placeholders: road, direction, junctions, until, area$/)
    refused(h.run(['draft', 'Text.', '--severity', 'Minor', '--var', 'road=A55']), 2, /^Error: --var fills a template's placeholders — give --template NAME$/)
    refused(h.run(['draft', '--template', 'flood']), 2, /^Error: no template "flood" — configured: road-closure$/)
    expect(storeFacts(h)).toEqual(before)
  })

  it('a placeholder left in text edited later blocks the broadcast, and typed text over the template needs no --var for it', () => {
    home = makeCrierHome()
    const h = home
    h.writeConfig(config)
    // The typed text replaces the template's, so {junctions} and {until} are not asked for.
    const draft = jsonOf(ok(h.run(['draft', 'The {road} is shut.', '--template', 'road-closure', '--var', 'road=A55', '--var', 'direction=westbound', '--var', 'area=Bangor', '--json'])))
    expect(draft.variants[0].description).toBe('The A55 is shut.')
    ok(h.run(['edit', draft.id, '--text', 'The {road} is still shut.']))
    const preview = exited(h.run(['preview', draft.id]), 3)
    expect(preview.stdout).toMatch(/^Policy error: \{road\} in the description \(en\) is a template placeholder nobody filled/m)
    refused(h.run(['broadcast', draft.id]), 3, /\{road\} in the description \(en\) is a template placeholder nobody filled — write what it stands for: crier edit \w+ --text …/)
    expect(storeFacts(h).deliveries).toBe(0)
  })
})
