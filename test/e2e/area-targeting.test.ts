import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {startProviderFake, type ProviderFake} from '../fakes/provider-server.js'
import {acceptedMessages, twilioPlan} from '../fakes/twilio-plan.js'
import {ok, refused} from '../helpers/cli-assertions.js'
import {jsonOf, makeCrierHome, storeFacts, type CrierHome} from '../helpers/cli.js'
import {capSchemaErrors} from '../helpers/validate-cap.js'

// Geo-targeting through the built CLI: an SMS flood warning for the people by the river, not
// the whole county; the public channels (the feed and its CAP document) carry the area itself.

const accountSid = 'AC' + '0'.repeat(32)
const authToken = 'twilio-token-for-tests-93c1'

let home: CrierHome | undefined
let twilio: ProviderFake | undefined
afterEach(async () => {
  home?.cleanup()
  home = undefined
  await twilio?.close()
  twilio = undefined
})

async function county(): Promise<CrierHome> {
  twilio = await startProviderFake({plan: twilioPlan({accountSid, authToken})})
  home = makeCrierHome()
  Object.assign(home.env, {TWILIO_AUTH_TOKEN: authToken})
  home.writeConfig(`defaultRegion: GB
channels:
  website: {type: feed, dir: ./public, baseUrl: "https://northwales.example/alerts"}
  residents-sms: {type: sms, accountSid: "${accountSid}", authToken: "\${TWILIO_AUTH_TOKEN}", from: "+447700900999", baseUrl: "${twilio.url}", audience: residents}
`)
  const csv = join(home.home, 'residents.csv')
  writeFileSync(csv, [
    'name,email,phone,language,lat,lon,zone,tags',
    'Riverside,,07700 900101,,53.1381,-3.7952,,', // Llanrwst: inside the circle
    'Betws,,07700 900102,,53.0930,-3.8010,,', // 5 km up the valley: outside
    'Mill Lane,,07700 900103,,,,LL26-riverside,', // by zone
    'Bangor,,07700 900104,,53.2274,-4.1293,LL57,', // far away
    'Nowhere,,07700 900105,,,,,', // cannot be placed
  ].join('\n') + '\n')
  ok(home.run(['subscribers', 'import', csv, '--list', 'residents']))
  return home
}

describe('geo-targeting', () => {
  it('texts only the subscribers inside the area, says how many it left out, and publishes the shapes in CAP', async () => {
    const h = await county()
    const draft = jsonOf(ok(h.run(['draft', 'Flood warning: the Conwy is overtopping at Llanrwst. Leave the riverside now.', '--severity', 'Minor', '--channel', 'website,residents-sms',
      '--area', 'Llanrwst riverside', '--circle', '53.138,-3.795 2', '--zone', 'LL26-riverside', '--json'])))
    expect(draft.area).toEqual({description: 'Llanrwst riverside', circles: [{lat: 53.138, lon: -3.795, radiusKm: 2}], polygons: [], geocodes: [{name: 'zone', value: 'LL26-riverside'}]})

    expect(ok(h.run(['show', draft.id])).stdout).toContain('Targets:   circle 53.138,-3.795 r 2 km; zone LL26-riverside (e-mail and SMS go only to subscribers inside)')
    const targeted = 'Targeted: residents-sms: the area takes in 2 of the 5 subscribers of residents; 1 cannot be placed (no location or zone) and is left out.'
    expect(ok(h.run(['preview', draft.id])).stdout).toContain(targeted)

    const result = await h.runAsync(['broadcast', draft.id])
    expect(result.status, result.stderr).toBe(0)
    expect(result.stderr).toContain(targeted)
    expect(acceptedMessages(twilio!.requests).map((m) => m.To).sort()).toEqual(['+447700900101', '+447700900103'])

    const cap = readFileSync(join(h.home, 'public', 'cap', `${draft.id}.xml`), 'utf8')
    expect(cap).toContain('<circle>53.138,-3.795 2</circle>')
    expect(cap).toMatch(/<geocode>\s*<valueName>zone<\/valueName>\s*<value>LL26-riverside<\/value>\s*<\/geocode>/)
    expect(await capSchemaErrors(cap)).toEqual([])
  })

  it('refuses what cannot be targeted, one line each, and keeps nothing half-made', async () => {
    const h = await county()
    const before = storeFacts(h)
    refused(h.run(['draft', 'Flood warning.', '--severity', 'Minor', '--channel', 'residents-sms', '--circle', '53.138,-3.795 2']), 2, /^Error: --circle, --polygon and --zone need --area, the area's description — e\.g\. --area "Llanrwst riverside"$/)
    refused(h.run(['draft', 'Flood warning.', '--severity', 'Minor', '--channel', 'residents-sms', '--area', 'Llanrwst', '--circle', '53.138 2']), 2, /^Error: --circle "53\.138 2" is not a circle — give "LAT,LON RADIUS_KM"/)
    refused(h.run(['draft', 'Flood warning.', '--severity', 'Minor', '--channel', 'residents-sms', '--area', 'Llanrwst', '--polygon', '53.1,-3.7 53.2,-3.7']), 2, /^Error: --polygon "53\.1,-3\.7 53\.2,-3\.7" is not a polygon/)
    expect(storeFacts(h)).toEqual(before)

    // An area where nobody on the list lives: refused before anything is queued, dry run or not.
    const draft = jsonOf(ok(h.run(['draft', 'Flood warning.', '--severity', 'Minor', '--channel', 'residents-sms', '--area', 'Aberystwyth', '--circle', '52.415,-4.082 3', '--json'])))
    for (const dryRun of [['--dry-run'], []]) {
      refused(h.run(['broadcast', draft.id, ...dryRun]), 2, /^Error: channel residents-sms: no subscriber of "residents" is inside the area \(2 subscribers cannot be placed: no location or zone\) — check --circle, --polygon and --zone, or leave residents-sms out$/)
    }
    expect(storeFacts(h).deliveries).toBe(0)
    // preview says so before anyone tries, exit 2 as broadcast's.
    const previewed = h.run(['preview', draft.id])
    expect(previewed.status).toBe(2)
    expect(previewed.stdout).toContain('Targeted: residents-sms: the area takes in 0 of the')
    expect(previewed.stderr).toContain('Error: crier broadcast would refuse it: channel residents-sms: no subscriber of "residents" is inside the area')
    expect(storeFacts(h).deliveries).toBe(0)

    // Editing the targeting, then taking it away: the whole list again.
    ok(h.run(['edit', draft.id, '--zone', 'LL57']))
    expect(ok(h.run(['preview', draft.id])).stdout).toContain('Targeted: residents-sms: the area takes in 1 of the 5 subscribers of residents; 3 cannot be placed')
    // The same figures for a script.
    expect(jsonOf(ok(h.run(['preview', draft.id, '--json']))).targeting).toEqual([
      expect.objectContaining({channel: 'residents-sms', list: 'residents', contact: 'phone', subscribers: 5, inside: 1, unplaced: 3}),
    ])
    ok(h.run(['edit', draft.id, '--zone', '']))
    const edited = jsonOf(ok(h.run(['show', draft.id, '--json'])))
    expect(edited.area).toEqual({description: 'Aberystwyth', circles: [], polygons: [], geocodes: []})
    expect(ok(h.run(['preview', draft.id])).stdout).not.toContain('Targeted:')
    expect(jsonOf(ok(h.run(['preview', draft.id, '--json']))).targeting).toEqual([])
  })
})
