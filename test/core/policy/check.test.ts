import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {loadConfig, type Config} from '../../../src/config/load.js'
import {resolvePaths} from '../../../src/config/paths.js'
import type {Announcement} from '../../../src/core/announcement.js'
import {shortId} from '../../../src/core/ids.js'
import {blockingFindings, checkPolicy, findingsBlockingApproval, type Finding} from '../../../src/core/policy/check.js'
import {renderForAllChannels} from '../../../src/core/render.js'
import {makeAnnouncement} from '../../helpers/announcement.js'

// Every finding the policy check makes, at each level it can have, through the real config
// loader and the real channel renderers.

const homes: string[] = []
afterAll(() => homes.forEach((home) => rmSync(home, {recursive: true, force: true})))

const channels = `sender: alerts@northwales.example
timezone: Europe/London
defaultRegion: GB
channels:
  website: { type: feed, dir: ./public }
  drills: { type: feed, dir: ./drills, allowTest: true }
  residents-sms: { type: sms, accountSid: AC1, authToken: t, from: "+447700900999", audience: residents, maxSegments: 2 }
`

function configWith(policy: string): Config {
  const home = mkdtempSync(join(tmpdir(), 'crier-policy-check-'))
  homes.push(home)
  writeFileSync(join(home, 'config.yaml'), `${channels}policy:\n${policy}`)
  return loadConfig(resolvePaths({CRIER_HOME: home}), {})
}

/** 25 Nov 2026 12:00 GMT: the middle of the day in London. */
const noon = Date.UTC(2026, 10, 25, 12, 0)

function check(announcement: Announcement, config: Config, now = noon, sendAt?: number[]): Finding[] {
  const findings = checkPolicy(announcement, config, renderForAllChannels(announcement, config), now, {sendAt})
  for (const finding of findings) expect(finding.message).not.toMatch(/[\n\r]/)
  return findings
}

function ofRule(findings: Finding[], rule: string): Finding[] {
  return findings.filter((finding) => finding.rule === rule)
}

const bilingual = (overrides: Partial<Announcement> = {}) =>
  makeAnnouncement({
    expiresAt: noon + 6 * 3_600_000,
    variants: [
      {language: 'en-GB', headline: 'A55 closed at Junction 11', description: 'The A55 is closed eastbound.', instruction: 'Use the A5.'},
      {language: 'cy-GB', headline: "A55 ar gau wrth Gyffordd 11", description: "Mae'r A55 ar gau tua'r dwyrain.", instruction: "Defnyddiwch yr A5."},
    ],
    ...overrides,
  })

describe('required fields', () => {
  const config = configWith('  content: { requireFields: [headline, area, expires, instruction, web, event] }\n')

  it('an error for each missing field, saying how to add it', () => {
    const announcement = makeAnnouncement({variants: [{language: 'en-GB', headline: 'Road closed', description: 'Road closed.'}], event: ' '})
    const id = shortId(announcement.id)
    expect(ofRule(check(announcement, config), 'required-field')).toEqual([
      {level: 'error', rule: 'required-field', message: `policy requires area — add it: crier edit ${id} --area …`},
      {level: 'error', rule: 'required-field', message: `policy requires expires — add it: crier edit ${id} --expires …`},
      {level: 'error', rule: 'required-field', message: `policy requires instruction — add it: crier edit ${id} --instruction …`},
      {level: 'error', rule: 'required-field', message: `policy requires web — add it: crier edit ${id} --web …`},
      {level: 'error', rule: 'required-field', message: `policy requires event — add it: crier edit ${id} --event …`},
    ])
  })

  it('text fields are required in every language, and the message names the one missing', () => {
    const announcement = bilingual({area: {description: 'Bangor', polygons: [], circles: [], geocodes: []}, web: 'https://example.org/a55'})
    announcement.variants[1]!.instruction = undefined
    expect(ofRule(check(announcement, config), 'required-field').map((f) => f.message)).toEqual([expect.stringMatching(/^policy requires instruction \(cy-GB\) — add it/)])
  })
})

describe('headline length and expiry', () => {
  const config = configWith('  content: { maxExpiryDays: 3 }\n')

  it('warns for a headline over 160 characters, naming the language', () => {
    const announcement = bilingual()
    announcement.variants[1]!.headline = 'H'.repeat(161)
    expect(ofRule(check(announcement, config), 'headline-length')).toEqual([
      {level: 'warning', rule: 'headline-length', message: 'headline (cy-GB) is 161 characters; CAP advises under 160 — shorten it'},
    ])
  })

  it('an expired announcement is an error', () => {
    expect(ofRule(check(bilingual({expiresAt: noon - 1}), config), 'expired')).toEqual([
      {level: 'error', rule: 'expired', message: `the announcement expired at 2026-11-25 11:59 Europe/London — set a later --expires`},
    ])
  })

  it('an expiry more than maxExpiryDays after it goes out is a warning', () => {
    const announcement = bilingual({expiresAt: noon + 4 * 86_400_000})
    expect(ofRule(check(announcement, config), 'expires-far')).toEqual([
      {level: 'warning', rule: 'expires-far', message: expect.stringMatching(/^expires 2026-11-29 12:00 Europe\/London, 4 days after it goes out \(policy\.content\.maxExpiryDays is 3\) — check the date, or set an earlier one: crier edit \w+ --expires …$/)},
    ])
    expect(ofRule(check(bilingual({expiresAt: noon + 3 * 86_400_000}), config), 'expires-far')).toEqual([])
    // judged from when it goes out: scheduled two days ahead, it is two days
    expect(ofRule(check(announcement, config, noon, [noon + 2 * 86_400_000]), 'expires-far')).toEqual([])
    // scheduled, it cannot be edited as it is: the hint unschedules first
    expect(ofRule(check(announcement, config, noon, [noon + 600_000]), 'expires-far')[0]!.message).toMatch(/— check the date, or set an earlier one: crier unschedule (\w+), crier edit \1 --expires …, then schedule it again$/)
  })

  it('the default horizon is 7 days', () => {
    const defaults = configWith('  approvals: { default: 0 }\n')
    expect(ofRule(check(bilingual({expiresAt: noon + 7 * 86_400_000}), defaults), 'expires-far')).toEqual([])
    expect(ofRule(check(bilingual({expiresAt: noon + 8 * 86_400_000}), defaults), 'expires-far')).toHaveLength(1)
  })
})

describe('banned words', () => {
  const config = configWith('  content: { bannedWords: [idiot, "bloody hell"], warnWords: [allegedly, café] }\n')

  it('a banned word is an error naming the word, the fields and the languages', () => {
    const announcement = bilingual()
    announcement.variants[0]!.headline = 'IDIOT driver closes A55'
    announcement.variants[0]!.description = 'Some ídiot crashed.'
    announcement.variants[1]!.instruction = 'Idiot. Bloody\nhell.'
    expect(ofRule(check(announcement, config), 'banned-word')).toEqual([
      {level: 'error', rule: 'banned-word', message: 'banned word "idiot" in the headline and description (en-GB), instruction (cy-GB) — reword it (policy.content.bannedWords)'},
      {level: 'error', rule: 'banned-word', message: 'banned word "bloody hell" in the instruction (cy-GB) — reword it (policy.content.bannedWords)'},
    ])
  })

  it('a warned word is a warning', () => {
    const announcement = bilingual()
    announcement.variants[0]!.description = 'The driver allegedly left the CAFE.'
    expect(ofRule(check(announcement, config), 'banned-word')).toEqual([
      {level: 'warning', rule: 'banned-word', message: '"allegedly" in the description (en-GB) is on policy.content.warnWords — check the wording'},
      {level: 'warning', rule: 'banned-word', message: '"café" in the description (en-GB) is on policy.content.warnWords — check the wording'},
    ])
  })

  it('only whole words: "idiotic" and "cafés" pass', () => {
    const announcement = bilingual()
    announcement.variants[0]!.description = 'An idiotic plan; the cafés are shut.'
    expect(ofRule(check(announcement, config), 'banned-word')).toEqual([])
  })
})

describe('personal data', () => {
  const text = 'Witness Dave on 07700 900123 or dave@example.org; NI JG103759C; car AB12 CDE. Call 101 or alerts@northwales.example.'
  const withText = () => {
    const announcement = bilingual()
    announcement.variants[0]!.description = text
    announcement.variants[1]!.instruction = 'Ffoniwch 07700 900123.'
    return announcement
  }

  it('block: each item is an error, masked, with where it is and what to do', () => {
    const findings = ofRule(check(withText(), configWith('  content: { personalData: block }\n')), 'personal-data')
    expect(findings).toEqual([
      {level: 'error', rule: 'personal-data', message: 'personal data: a phone number (+44 77** ***123) in the description (en-GB), instruction (cy-GB) — remove it, or add it to policy.content.allowedNumbers if it is a public number'},
      {level: 'error', rule: 'personal-data', message: "personal data: an e-mail address (d***@example.org) in the description (en-GB) — remove it, or add it to policy.content.allowedEmails if it is the service's own"},
      {level: 'error', rule: 'personal-data', message: 'personal data: a National Insurance number (JG ** ** ** C) in the description (en-GB) — remove it'},
      {level: 'error', rule: 'personal-data', message: expect.stringMatching(/^personal data: a vehicle registration \(AB12 \*\*\*\) in the description \(en-GB\) — remove it, or set policy\.content\.personalDataDetectors\.vehicleRegistration: warn/)},
    ])
    // never the data itself
    const all = findings.map((f) => f.message).join('\n')
    for (const secret of ['900123', '7700 900', 'dave@', 'JG103759C', '103759', 'AB12 CDE', 'AB12CDE']) expect(all).not.toContain(secret)
  })

  it('the area and the event are published too: checked, named once for every language', () => {
    const announcement = bilingual()
    announcement.area = {description: 'Flat 2, Bangor: ring 07700 900123', polygons: [], circles: [], geocodes: []}
    announcement.event = 'Idiot driver'
    const config = configWith('  content: { personalData: block, bannedWords: [idiot] }\n')
    expect(ofRule(check(announcement, config), 'personal-data').map((f) => f.message)).toEqual([
      'personal data: a phone number (+44 77** ***123) in the area — remove it, or add it to policy.content.allowedNumbers if it is a public number',
    ])
    expect(ofRule(check(announcement, config), 'banned-word').map((f) => f.message)).toEqual(['banned word "idiot" in the event — reword it (policy.content.bannedWords)'])
  })

  it('the web link is published too: checked as the browser reads it, named once for every language', () => {
    const config = configWith('  content: { personalData: block, bannedWords: ["bloody hell"] }\n')
    // as `crier draft --web` stores it: the URL parser escapes the space and keeps the @
    const announcement = bilingual({web: new URL('https://northwales.example/news/bloody-hell?witness=07700 900123&contact=dave@example.org&cc=jane%40example.org').toString()})
    expect(ofRule(check(announcement, config), 'personal-data').map((f) => f.message)).toEqual([
      'personal data: a phone number (+44 77** ***123) in the web link — remove it, or add it to policy.content.allowedNumbers if it is a public number',
      "personal data: an e-mail address (d***@example.org) in the web link — remove it, or add it to policy.content.allowedEmails if it is the service's own",
      "personal data: an e-mail address (j***@example.org) in the web link — remove it, or add it to policy.content.allowedEmails if it is the service's own",
    ])
    expect(ofRule(check(announcement, config), 'banned-word').map((f) => f.message)).toEqual(['banned word "bloody hell" in the web link — reword it (policy.content.bannedWords)'])
  })

  it('in the web link, ids are not phone numbers: only numbers written with their + or 0', () => {
    const config = configWith('  content: { personalData: block }\n')
    for (const web of ['https://northwales.example/news/article-1234567', 'https://northwales.example/a?id=123456789&ts=1715247000', 'https://www.facebook.com/NorthWalesPolice/posts/2345678901', 'https://northwales.example/alerts/2024/05/09/a55'])
      expect(ofRule(check(bilingual({web}), config), 'personal-data')).toEqual([])
    for (const web of ['https://northwales.example/call/01492512345', 'https://northwales.example/?tel=%2B447700900123', 'https://northwales.example/?tel=+44%207700%20900123'])
      expect(ofRule(check(bilingual({web}), config), 'personal-data').map((f) => f.message.split(' (')[0])).toEqual(['personal data: a phone number'])
  })

  it('the area’s zones are published too: checked, named with the other shared fields', () => {
    const announcement = bilingual()
    announcement.area = {
      description: 'Bangor',
      polygons: [],
      circles: [],
      geocodes: [
        {name: 'zone', value: 'LL57-upper'},
        {name: 'zone', value: 'ring dave 07700 900123'},
        {name: 'zone', value: 'Idiot-corner'},
        // an invisible zero-width space does not hide an address
        {name: 'zone', value: 'j\u200bane@example.org'},
        {name: 'GSS', value: 'W06000001'},
      ],
    }
    announcement.event = 'Idiot driver'
    const config = configWith('  content: { personalData: block, bannedWords: [idiot] }\n')
    expect(ofRule(check(announcement, config), 'personal-data').map((f) => f.message.split(' — ')[0])).toEqual([
      'personal data: a phone number (+44 77** ***123) in the zones',
      'personal data: an e-mail address (j***@example.org) in the zones',
    ])
    expect(ofRule(check(announcement, config), 'banned-word').map((f) => f.message)).toEqual(['banned word "idiot" in the zones and event — reword it (policy.content.bannedWords)'])
  })

  it('warn: the same items are warnings', () => {
    const findings = ofRule(check(withText(), configWith('  content: { personalData: warn }\n')), 'personal-data')
    expect(findings.map((f) => f.level)).toEqual(['warning', 'warning', 'warning', 'warning'])
    expect(findings[0]!.message).toBe('personal data: a phone number (+44 77** ***123) in the description (en-GB), instruction (cy-GB) — check that it may be published')
  })

  it('off: nothing; and each detector can be set on its own', () => {
    expect(ofRule(check(withText(), configWith('  content: { personalData: off }\n')), 'personal-data')).toEqual([])
    const findings = ofRule(check(withText(), configWith('  content: { personalData: block, personalDataDetectors: { vehicleRegistration: warn, email: off, phone: block } }\n')), 'personal-data')
    expect(findings.map((f) => [f.level, f.message.split(' (')[0]])).toEqual([
      ['error', 'personal data: a phone number'],
      ['error', 'personal data: a National Insurance number'],
      ['warning', 'personal data: a vehicle registration'],
    ])
  })

  it('allowed numbers and e-mail addresses are not findings; the sender address never is', () => {
    const config = configWith('  content: { personalData: block, allowedNumbers: ["+44 7700 900123"], allowedEmails: ["@example.org"] }\n')
    expect(ofRule(check(withText(), config), 'personal-data').map((f) => f.message.split(' (')[0])).toEqual(['personal data: a National Insurance number', 'personal data: a vehicle registration'])
  })
})

describe('quiet hours', () => {
  const evening = Date.UTC(2026, 10, 25, 23, 15)

  it('block: a send inside quiet hours is an error saying when they end', () => {
    const config = configWith('  quietHours: { from: "22:00", to: "07:00", except: [Extreme, Severe] }\n')
    const announcement = bilingual({severity: 'Moderate', expiresAt: evening + 3_600_000 * 12})
    expect(ofRule(check(announcement, config, evening), 'quiet-hours')).toEqual([
      {
        level: 'error',
        rule: 'quiet-hours',
        message: `Moderate announcements may not go out in quiet hours 22:00–07:00, and this one would at 2026-11-25 23:15 Europe/London — send it from 07:00: crier schedule ${shortId(announcement.id)} --at 2026-11-26T07:00`,
      },
    ])
    expect(ofRule(check(announcement, config, noon), 'quiet-hours')).toEqual([])
  })

  it('warn: the same send is a warning', () => {
    const config = configWith('  quietHours: { from: "22:00", to: "07:00", level: warn }\n')
    const announcement = bilingual({severity: 'Minor', expiresAt: evening + 3_600_000 * 12})
    expect(ofRule(check(announcement, config, evening), 'quiet-hours')).toEqual([
      {level: 'warning', rule: 'quiet-hours', message: `this Minor announcement would go out at 2026-11-25 23:15 Europe/London, in quiet hours 22:00–07:00 — consider waiting until 07:00: crier schedule ${shortId(announcement.id)} --at 2026-11-26T07:00`},
    ])
  })

  it('one that expires before the quiet hours end is told its expiry must move too, not sent to a schedule it would refuse', () => {
    const announcement = bilingual({severity: 'Moderate', expiresAt: evening + 3_600_000 * 2})
    const [blocked] = ofRule(check(announcement, configWith('  quietHours: { from: "22:00", to: "07:00" }\n'), evening), 'quiet-hours')
    expect(blocked!.message).toBe(
      `Moderate announcements may not go out in quiet hours 22:00–07:00, and this one would at 2026-11-25 23:15 Europe/London — it expires at 2026-11-26 01:15, before they end: give a later --expires (crier edit ${shortId(announcement.id)} --expires …), then crier schedule ${shortId(announcement.id)} --at 2026-11-26T07:00`,
    )
    const [warned] = ofRule(check(announcement, configWith('  quietHours: { from: "22:00", to: "07:00", level: warn }\n'), evening), 'quiet-hours')
    expect(warned!.message).toBe('this Moderate announcement would go out at 2026-11-25 23:15 Europe/London, in quiet hours 22:00–07:00 — it expires before they end (2026-11-26 01:15), so waiting needs a later --expires too')
  })

  it('never hold a Cancel: the wrong message it withdraws must not stay live until morning', () => {
    const config = configWith('  quietHours: { from: "22:00", to: "07:00" }\n')
    const original = bilingual({severity: 'Minor', expiresAt: evening + 3_600_000 * 12})
    const cancel = bilingual({severity: 'Minor', msgType: 'Cancel', references: original.id, expiresAt: evening + 3_600_000 * 12})
    expect(ofRule(check(cancel, config, evening), 'quiet-hours')).toEqual([])
    // An Update still waits: it may carry routine news.
    expect(ofRule(check({...cancel, msgType: 'Update'}, config, evening), 'quiet-hours').map((f) => f.level)).toEqual(['error'])
  })

  it("an Update of a message whose severity may go out at night goes too: the all-clear of an Extreme order, typed Minor", () => {
    const config = configWith('  quietHours: { from: "22:00", to: "07:00", except: [Extreme, Severe] }\n')
    const order = bilingual({severity: 'Extreme', expiresAt: evening + 3_600_000 * 12})
    const escalation = bilingual({severity: 'Moderate', msgType: 'Update', references: order.id, expiresAt: evening + 3_600_000 * 12})
    const allClear = bilingual({severity: 'Minor', msgType: 'Update', references: escalation.id, expiresAt: evening + 3_600_000 * 12})
    const judged = (update: Announcement, referenced: Announcement, earlier: Announcement[]) =>
      ofRule(checkPolicy(update, config, renderForAllChannels(update, config), evening, {referenced, earlier}), 'quiet-hours')
    expect(judged(allClear, order, [])).toEqual([])
    // Through the thread: the Extreme order is two messages back.
    expect(judged(allClear, escalation, [order])).toEqual([])
    // A routine thread still waits for the morning.
    const routine = bilingual({severity: 'Minor', expiresAt: evening + 3_600_000 * 12})
    expect(judged({...allClear, references: routine.id}, routine, []).map((finding) => finding.level)).toEqual(['error'])
  })

  it('severities in except may go out', () => {
    const config = configWith('  quietHours: { from: "22:00", to: "07:00", except: [Extreme, Severe] }\n')
    expect(ofRule(check(bilingual({severity: 'Severe', expiresAt: evening + 3_600_000}), config, evening), 'quiet-hours')).toEqual([])
    expect(ofRule(check(bilingual({severity: 'Extreme', expiresAt: evening + 3_600_000}), config, evening), 'quiet-hours')).toEqual([])
  })

  it('judged at the scheduled time when one is given', () => {
    const config = configWith('  quietHours: { from: "22:00", to: "07:00" }\n')
    const announcement = bilingual({severity: 'Minor', expiresAt: noon + 86_400_000})
    expect(ofRule(check(announcement, config, noon, [evening]), 'quiet-hours').map((f) => f.level)).toEqual(['error'])
    expect(ofRule(check(announcement, config, evening, [Date.UTC(2026, 10, 26, 7, 30)]), 'quiet-hours')).toEqual([])
    // a recurring schedule: any occurrence in quiet hours is enough
    expect(ofRule(check(announcement, config, noon, [noon + 3_600_000, evening + 86_400_000]), 'quiet-hours')).toHaveLength(1)
  })

  it('limited to some channels: a finding per channel that keeps them', () => {
    const config = configWith('  quietHours: { from: "22:00", to: "07:00", channels: [residents-sms] }\n')
    const both = bilingual({severity: 'Minor', channels: ['website', 'residents-sms'], expiresAt: evening + 3_600_000})
    expect(ofRule(check(both, config, evening), 'quiet-hours')).toEqual([
      {level: 'error', rule: 'quiet-hours', channel: 'residents-sms', message: expect.stringMatching(/^Minor announcements may not go out to residents-sms in quiet hours 22:00–07:00/)},
    ])
    expect(ofRule(check(bilingual({severity: 'Minor', channels: ['website'], expiresAt: evening + 3_600_000}), config, evening), 'quiet-hours')).toEqual([])
  })

  it('does not stop an approval, only the send', () => {
    const config = configWith('  quietHours: { from: "22:00", to: "07:00" }\n')
    const findings = check(bilingual({severity: 'Minor', expiresAt: evening + 3_600_000}), config, evening)
    expect(blockingFindings(findings).map((f) => f.rule)).toEqual(['quiet-hours'])
    expect(findingsBlockingApproval(findings)).toEqual([])
  })
})

describe('channels', () => {
  const config = configWith('  approvals: { default: 0 }\n')

  it('SMS over the channel’s maxSegments is an error on that channel', () => {
    const announcement = makeAnnouncement({channels: ['residents-sms'], variants: [{language: 'en-GB', headline: 'Water main burst', description: 'The water main on the High Street has burst. '.repeat(8)}]})
    expect(ofRule(check(announcement, config), 'channel-limit')).toEqual([
      {level: 'error', rule: 'channel-limit', channel: 'residents-sms', message: expect.stringMatching(/^residents-sms: SMS — GSM-7, 3 segments \(\d+ chars\) is 3 sms-segments, over the limit of 2 — shorten the text, or raise channels\.residents-sms\.maxSegments$/)},
    ])
    const short = makeAnnouncement({channels: ['residents-sms']})
    expect(ofRule(check(short, config), 'channel-limit')).toEqual([])
  })

  it('Exercise, Test, System and Draft announcements only to channels marked allowTest', () => {
    for (const status of ['Exercise', 'Test', 'System', 'Draft'] as const) {
      const announcement = makeAnnouncement({status, channels: ['website', 'drills']})
      expect(ofRule(check(announcement, config), 'test-channel')).toEqual([
        {level: 'error', rule: 'test-channel', channel: 'website', message: `${status} announcements may not go to website — it is not marked allowTest: choose other channels (crier edit ${shortId(announcement.id)} --channel …) or set channels.website.allowTest: true`},
      ])
    }
    expect(ofRule(check(makeAnnouncement({channels: ['website', 'drills']}), config), 'test-channel')).toEqual([])
  })
})

it('a clean announcement has no findings under a strict policy', () => {
  const config = configWith(`  content:
    requireFields: [headline, area, expires]
    bannedWords: [idiot]
    personalData: block
  quietHours: { from: "22:00", to: "07:00" }
`)
  const announcement = bilingual({
    area: {description: 'Bangor', polygons: [], circles: [], geocodes: [{name: 'zone', value: 'LL57-upper'}, {name: 'GSS', value: 'W06000001'}]},
    web: 'https://www.northwales.police.uk/news/2024/05/09/a55-closed-at-junction-11-1234567?utm_source=crier',
    channels: ['website', 'residents-sms'],
  })
  announcement.variants[0]!.instruction = 'Use the A5. Call 101 with information, or 999 in an emergency.'
  expect(check(announcement, config)).toEqual([])
})

describe('a channel that posts in one language', () => {
  const home = mkdtempSync(join(tmpdir(), 'crier-policy-language-'))
  homes.push(home)
  writeFileSync(join(home, 'config.yaml'), `${channels}  partners-cy: { type: webhook, url: "https://partners.example/cy", language: cy }\n`)
  const config = loadConfig(resolvePaths({CRIER_HOME: home}), {})

  it('posts the text in its language, matched as a reader’s is (cy takes cy-GB)', () => {
    const announcement = bilingual({channels: ['website', 'partners-cy']})
    const [, partners] = renderForAllChannels(announcement, config)
    expect(JSON.parse(partners!.rendered.parts[0]!.text)).toMatchObject({language: 'cy-GB', headline: 'A55 ar gau wrth Gyffordd 11'})
    expect(ofRule(check(announcement, config), 'channel-language')).toEqual([])
  })

  it('warns where there is no text in its language: it would post the first language’s', () => {
    const announcement = makeAnnouncement({channels: ['website', 'partners-cy'], expiresAt: noon + 3_600_000})
    expect(ofRule(check(announcement, config), 'channel-language')).toEqual([
      {
        level: 'warning',
        rule: 'channel-language',
        channel: 'partners-cy',
        message: `partners-cy posts in cy, but this has no cy text: it would post the en-GB — add it: crier edit ${shortId(announcement.id)} --lang cy --headline … --text …`,
      },
    ])
  })

  it('is refused on an e-mail or SMS channel, whose subscribers each get their own language', () => {
    writeFileSync(join(home, 'config.yaml'), `${channels.replace('maxSegments: 2 }', 'maxSegments: 2, language: cy-GB }')}`)
    expect(() => loadConfig(resolvePaths({CRIER_HOME: home}), {})).toThrow(
      'config.yaml: channels.residents-sms.language: sms sends each subscriber the text in their own language (the language column of their list) — leave language out',
    )
  })
})

describe('a bilingual announcement on a per-recipient channel', () => {
  const config = configWith('  content: {}\n')

  it('is checked in each language: the Welsh SMS over maxSegments is an error naming the language', () => {
    const long = (text: string) => `${text} `.repeat(12).trim()
    const announcement = bilingual({channels: ['residents-sms']})
    announcement.variants[1]!.description = long('Mae’r ŵyn ar y ffordd.')
    const limits = ofRule(check(announcement, config), 'channel-limit')
    expect(limits).toHaveLength(1)
    expect(limits[0]).toMatchObject({level: 'error', channel: 'residents-sms'})
    expect(limits[0]!.message).toMatch(/^residents-sms \(cy-GB\): SMS — UCS-2 \(because of ŵ\), \d+ segments \(\d+ chars\) is \d+ sms-segments, over the limit of 2/)
  })
})

describe('an Update that keeps its original’s instruction', () => {
  it('warns, quoting the advice, so an all-clear does not go out still saying "Avoid the area"', () => {
    const config = configWith('  approvals: {default: 0}\n')
    const original = makeAnnouncement({expiresAt: noon + 6 * 3_600_000, variants: [{language: 'en-GB', headline: 'A55 flooded', description: 'The A55 is flooded at J11.', instruction: 'Avoid the area & stay safe.'}]})
    const update = makeAnnouncement({msgType: 'Update', references: original.id, expiresAt: original.expiresAt, variants: [{language: 'en-GB', headline: 'A55 reopened', description: 'The A55 has reopened.', instruction: 'Avoid the area & stay safe.'}]})
    const findings = ofRule(checkPolicy(update, config, renderForAllChannels(update, config), noon, {referenced: original}), 'follow-up-instruction')
    expect(findings).toEqual([
      {level: 'warning', rule: 'follow-up-instruction', message: `the instruction is ${shortId(original.id)}'s, unchanged: "Avoid the area & stay safe." — if the advice has changed: crier edit ${shortId(update.id)} --instruction "…" (--instruction "" drops it)`},
    ])
    const changed = {...update, variants: [{...update.variants[0]!, instruction: 'Drive carefully.'}]}
    expect(ofRule(checkPolicy(changed, config, renderForAllChannels(changed, config), noon, {referenced: original}), 'follow-up-instruction')).toEqual([])
    // An Alert is not a follow-up, and the warning is for Updates only (a Cancel carries no advice of its own).
    expect(ofRule(check(original, config), 'follow-up-instruction')).toEqual([])
  })
})

describe('unfilled template placeholders', () => {
  const config = configWith(`  content: {}
templates:
  road-closure:
    headline: "{road} closed {direction}"
    text: "The {road} is closed {direction}."
`)

  it('blocks a configured template placeholder left in the text, naming where and the flag that fixes it', () => {
    const announcement = makeAnnouncement({
      expiresAt: noon + 3_600_000,
      variants: [{language: 'en-GB', headline: 'A55 closed', description: 'The {road} is closed {direction}.', instruction: 'Avoid {road}.'}],
    })
    const found = ofRule(check(announcement, config), 'unfilled-placeholder')
    expect(found.map((finding) => finding.level)).toEqual(['error', 'error'])
    expect(found[0]!.message).toBe(`{road} in the description and instruction (en-GB) is a template placeholder nobody filled — write what it stands for: crier edit ${shortId(announcement.id)} --text … --instruction …`)
    expect(found[1]!.message).toContain('{direction} in the description (en-GB)')
    expect(blockingFindings(check(announcement, config)).length).toBeGreaterThanOrEqual(2)
  })

  it('leaves braces that are no template placeholder alone, and says nothing where no template is configured', () => {
    const own = makeAnnouncement({expiresAt: noon + 3_600_000, variants: [{language: 'en-GB', headline: 'Code {A1} applies', description: 'Refer to {ref-7}.'}]})
    expect(ofRule(check(own, config), 'unfilled-placeholder')).toEqual([])
    const road = makeAnnouncement({expiresAt: noon + 3_600_000, variants: [{language: 'en-GB', headline: '{road} closed', description: 'Closed.'}]})
    expect(ofRule(check(road, configWith('  content: {}\n')), 'unfilled-placeholder')).toEqual([])
    expect(ofRule(check(road, config), 'unfilled-placeholder')[0]!.message).toContain('in the headline (en-GB)')
    // In the Welsh text too: its own command, with --lang, so the English is not overwritten.
    const welsh = bilingual({expiresAt: noon + 3_600_000})
    welsh.variants[1]!.description = 'Ar gau {road}.'
    welsh.event = '{road} closure'
    expect(ofRule(check(welsh, config), 'unfilled-placeholder')[0]!.message).toMatch(/write what it stands for: crier edit \w+ --lang cy-GB --text …; crier edit \w+ --event …$/)
  })
})
