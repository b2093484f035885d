import {afterEach, describe, expect, it} from 'vitest'
import {createDraft, editAnnouncement, parseLanguage, parseStatus} from '../../src/core/drafting.js'
import {ExitCode, UsageError} from '../../src/core/errors.js'
import {headlineFrom} from '../../src/core/fields.js'
import {makeWorld, removeWorld, type World} from '../helpers/world.js'

// Drafting and editing in process: CAP status (drills), language tags, and language variants.

let world: World | undefined
afterEach(() => {
  if (world) removeWorld(world)
  world = undefined
})

const config = `sender: alerts@northwales.example
languages: [en-GB, cy-GB]
channels:
  website: {type: feed, dir: ./public}
`

function usage(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).exitCode).toBe(ExitCode.usage)
    return (error as UsageError).message
  }
  throw new Error('was accepted')
}

describe('status: Actual, or a drill', () => {
  it('is Actual unless told, Exercise or Test in any case', () => {
    world = makeWorld(config)
    expect(createDraft(world.ctx, {text: 'Road closed.', severity: 'Minor', channels: []}).status).toBe('Actual')
    expect(createDraft(world.ctx, {text: 'Drill.', severity: 'Minor', channels: [], status: 'exercise'}).status).toBe('Exercise')
    expect(createDraft(world.ctx, {text: 'Siren test.', severity: 'Minor', channels: [], status: ' TEST '}).status).toBe('Test')
  })

  it('refuses CAP’s System and Draft, which are not for the public, and anything else', () => {
    expect(usage(() => parseStatus('System'))).toBe('--status System is CAP\'s, not for the public — use Actual, or Exercise or Test for a drill (a draft is what crier draft makes)')
    expect(usage(() => parseStatus('draft'))).toMatch(/^--status Draft is CAP's, not for the public/)
    expect(usage(() => parseStatus('drill'))).toBe('--status "drill" is not valid — use one of Actual, Exercise, Test')
  })

  it('is changed by edit, and a follow-up keeps its original’s', () => {
    world = makeWorld(config)
    const drill = createDraft(world.ctx, {text: 'Flood drill.', severity: 'Minor', channels: [], status: 'Exercise'})
    expect(editAnnouncement(world.ctx, drill.id, {status: 'Test'}).announcement.status).toBe('Test')
    const update = createDraft(world.ctx, {text: 'Drill over.', channels: []}, {msgType: 'Update', original: {...drill, status: 'Test'}})
    expect(update.status).toBe('Test')
    expect(usage(() => createDraft(world!.ctx, {text: 'Real now.', channels: [], status: 'Actual'}, {msgType: 'Update', original: drill}))).toMatch(/keeps its original's status \(Exercise\)/)
    expect(usage(() => editAnnouncement(world!.ctx, update.id, {status: 'Actual'}))).toMatch(/keeps its original's status \(Test\)/)
  })
})

describe('language tags (xs:language)', () => {
  it('accepts tags such as cy-GB, en, zh-Hant-TW', () => {
    for (const tag of ['cy-GB', 'en', 'zh-Hant-TW', 'de-CH-1996']) expect(parseLanguage(` ${tag} `)).toBe(tag)
  })

  it('refuses anything else, naming --lang and a tag to write', () => {
    expect(usage(() => parseLanguage('cy_GB'))).toBe('--lang "cy_GB" is not a language tag — write it with a hyphen: --lang cy-GB')
    for (const bad of ['not a language', '', 'cy-', 'toolonglanguage', 'cy--GB', 'en-GB!']) {
      expect(usage(() => parseLanguage(bad))).toBe(`--lang "${bad}" is not a language tag — give a language tag such as cy-GB or en`)
    }
  })

  it('a draft and an edit with a bad tag change nothing', () => {
    world = makeWorld(config)
    usage(() => createDraft(world!.ctx, {text: 'Road closed.', severity: 'Minor', channels: [], lang: 'not a language'}))
    const drafted = createDraft(world.ctx, {text: 'Road closed.', severity: 'Minor', channels: []})
    usage(() => editAnnouncement(world!.ctx, drafted.id, {lang: 'cy_GB', text: 'Ffordd ar gau.'}))
    expect(world.store.announcements.get(drafted.id)!.variants).toEqual(drafted.variants)
  })
})

describe('edit --lang: the variant of that language', () => {
  it('adds a language beside the others, then changes only it; without --lang, the first', () => {
    world = makeWorld(config)
    const drafted = createDraft(world.ctx, {text: 'The A55 is closed. Use the A5.', severity: 'Minor', channels: [], instruction: 'Avoid the area.'})
    const added = editAnnouncement(world.ctx, drafted.id, {lang: 'cy-GB', text: 'Mae’r A55 ar gau. Defnyddiwch yr A5.'}).announcement
    expect(added.variants).toEqual([
      drafted.variants[0],
      {language: 'cy-GB', headline: 'Mae’r A55 ar gau.', description: 'Mae’r A55 ar gau. Defnyddiwch yr A5.'},
    ])
    const welsh = editAnnouncement(world.ctx, drafted.id, {lang: 'CY-gb', headline: 'A55 ar gau', instruction: 'Osgowch yr ardal.'}).announcement
    expect(welsh.variants[0]).toEqual(drafted.variants[0])
    expect(welsh.variants[1]).toEqual({language: 'cy-GB', headline: 'A55 ar gau', description: 'Mae’r A55 ar gau. Defnyddiwch yr A5.', instruction: 'Osgowch yr ardal.'})
    const english = editAnnouncement(world.ctx, drafted.id, {text: 'The A55 is closed westbound.'}).announcement
    expect(english.variants.map((variant) => [variant.language, variant.description])).toEqual([
      ['en-GB', 'The A55 is closed westbound.'],
      ['cy-GB', 'Mae’r A55 ar gau. Defnyddiwch yr A5.'],
    ])
  })

  it('takes en-GB for a text tagged en as the same language said more precisely', () => {
    world = makeWorld(config.replace('languages: [en-GB, cy-GB]\n', 'languages: [en]\n'))
    const drafted = createDraft(world.ctx, {text: 'Road closed.', severity: 'Minor', channels: []})
    expect(drafted.variants[0]!.language).toBe('en')
    expect(editAnnouncement(world.ctx, drafted.id, {lang: 'en-GB', headline: 'Road closed in Bangor'}).announcement.variants).toEqual([{language: 'en-GB', headline: 'Road closed in Bangor', description: 'Road closed.'}])
    // The broader tag finds it too, and keeps the more precise one.
    expect(editAnnouncement(world.ctx, drafted.id, {lang: 'en', text: 'Road closed again.'}).announcement.variants).toEqual([{language: 'en-GB', headline: 'Road closed in Bangor', description: 'Road closed again.'}])
  })

  it('refuses to add a language without its text', () => {
    world = makeWorld(config)
    const drafted = createDraft(world.ctx, {text: 'Road closed.', severity: 'Minor', channels: []})
    expect(usage(() => editAnnouncement(world!.ctx, drafted.id, {lang: 'fr', headline: 'Route fermée'}))).toBe(`${drafted.id.slice(0, 12)} has no fr text (it has en-GB) — give --text or --file with --lang fr to add it`)
  })
})

describe('text from outside, as stored for publication', () => {
  it('loses escape sequences, control characters and bidi overrides — at draft and at edit — and keeps lines, tabs and right-to-left marks', () => {
    world = makeWorld(config)
    const hostile = 'Flood\u001b[2J\u001b]52;c;ZXZpbA==\u0007 warning\u0007 for \u202eDNALLEW\u202c Conwy.\r\nLeave now.\tTake pets.\u200f'
    const drafted = createDraft(world.ctx, {text: hostile, headline: 'Flood\u001b[31m warning', instruction: 'Go\u0000 uphill\u001b[0m.', area: 'Conwy\u0008', event: 'Flood\u009b2J', zone: ['LL26\u001b]0;PWNED\u0007\u001b[2J', 'LL27\u0007'], severity: 'Minor', channels: []})
    expect(drafted.variants[0]).toEqual({language: 'en-GB', headline: 'Flood warning', description: 'Flood warning for DNALLEW Conwy.\nLeave now.\tTake pets.\u200f', instruction: 'Go uphill.'})
    expect(drafted.area?.description).toBe('Conwy')
    expect(drafted.area?.geocodes.map((geocode) => geocode.value)).toEqual(['LL26', 'LL27'])
    expect(createDraft(world.ctx, {text: 'x.', area: 'Conwy', zone: ['Old\tTown'], severity: 'Minor', channels: []}).area?.geocodes[0]?.value).toBe('Old Town')
    // A zone that is nothing but an escape sequence would untarget the alert: refused.
    expect(() => createDraft(world!.ctx, {text: 'x.', area: 'Conwy', zone: ['\u001b[0m'], severity: 'Minor', channels: []})).toThrow('--zone holds no zone name once its control characters are dropped')
    expect(drafted.event).toBe('Flood')
    const edited = editAnnouncement(world.ctx, drafted.id, {text: 'All clear\u001b[1A.', headline: '\u202eAll clear'}).announcement
    expect(edited.variants[0]).toMatchObject({headline: 'All clear', description: 'All clear.'})
  })

  it('loses the invisible characters pasted text brings (zero-width space, soft hyphen, word joiner, BOM), keeps emoji joiners, and makes a vertical tab a line break', () => {
    world = makeWorld(config)
    const pasted = 'Boil water\u200bnotice in Con\u00adwy\u2060 until\ufeff further\u2062\u3164 notice.\u000bFamilies 👨\u200d👩\u200d👧 should boil all water.'
    const drafted = createDraft(world.ctx, {text: pasted, headline: 'Boil\u200b water', severity: 'Minor', channels: []})
    expect(drafted.variants[0]).toMatchObject({headline: 'Boil water', description: 'Boil waternotice in Conwy until further notice.\nFamilies 👨\u200d👩\u200d👧 should boil all water.'})
  })
})

describe('draft or pending_approval: where an unapproved text waits', () => {
  it('is pending_approval from the start where policy asks for an approval, draft where it asks for none, and follows edits', () => {
    world = makeWorld(config)
    const ctx = world.ctx
    expect(createDraft(ctx, {text: 'Bins on Tuesday.', severity: 'Minor', channels: []}).state).toBe('draft')
    const severe = createDraft(ctx, {text: 'Evacuate Pentre.', severity: 'Severe', channels: []})
    expect(severe.state).toBe('pending_approval')
    expect(ctx.store.announcements.list({states: ['pending_approval']}).map((a) => a.id)).toEqual([severe.id])
    expect(editAnnouncement(ctx, severe.id, {severity: 'Moderate'}).announcement.state).toBe('draft')
    expect(editAnnouncement(ctx, severe.id, {severity: 'Extreme'}).announcement.state).toBe('pending_approval')
    expect(ctx.store.announcements.get(severe.id)!.state).toBe('pending_approval')
  })

  it('a Minor Update of a Severe message needs what the message needed, so it waits for approval too', () => {
    world = makeWorld(config)
    const original = createDraft(world.ctx, {text: 'Evacuate Pentre.', severity: 'Severe', channels: []})
    const update = createDraft(world.ctx, {text: 'You may return home.', severity: 'Minor', channels: []}, {msgType: 'Update', original})
    expect(update.state).toBe('pending_approval')
  })
})

describe('a headline taken from the text', () => {
  it('is the first sentence, which an abbreviation, an initial or a lower-case word after the stop does not end', () => {
    const cases: Array<[string, string]> = [
      ['St. Asaph: the bridge on the A525 is closed. Use the A55.', 'St. Asaph: the bridge on the A525 is closed.'],
      ['No. 5 bus diverted. Expect delays.', 'No. 5 bus diverted.'],
      ['Gas leak on U.S. Route 1. Evacuate.', 'Gas leak on U.S. Route 1.'],
      ['The A55 is closed at Jct. 11 today. Avoid it.', 'The A55 is closed at Jct. 11 today.'],
      ['Flooding expected e.g. in Rhyl. Stay away.', 'Flooding expected e.g. in Rhyl.'],
      ['The A55 is closed at J11. Avoid the area.', 'The A55 is closed at J11.'],
      ['Road closed! Avoid.', 'Road closed!'],
      ['Closed until 18:00. 5 cars involved.', 'Closed until 18:00.'],
      ["Mae'r A55 ar gau. Osgowch yr ardal.", "Mae'r A55 ar gau."],
      ['Boil water notice', 'Boil water notice'],
      ["Police are at St Mary's. Avoid the area.", "Police are at St Mary's."],
      ['Fire in Block C. Residents must leave.', 'Fire in Block C.'],
      ['Evacuate Zone A. Go now.', 'Evacuate Zone A.'],
      ['Water off on Main St. Bottled water at the hall.', 'Water off on Main St.'],
      ['Storm warning (Cat. 3). Stay in.', 'Storm warning (Cat. 3).'],
      ['Smoke from fire at Unit 4, Ind. Est. Close windows.', 'Smoke from fire at Unit 4, Ind. Est.'],
    ]
    for (const [text, headline] of cases) expect(headlineFrom(text), text).toBe(headline)
  })

  it('cuts a long headline between characters as a reader sees them: never inside a joined emoji', () => {
    // A family emoji is seven code points joined by U+200D: cut inside, a dangling joiner met the ellipsis.
    const family = '👨‍👩‍👧‍👦'
    const headline = headlineFrom(family.repeat(100))
    expect(headline.endsWith(`${family}…`)).toBe(true)
    expect(headline.slice(0, -1).split(family).join('')).toBe('')
    // Words still end at a space, as before.
    const words = `${'Flooding on the A55 westbound '.repeat(6)}today`
    const cutAtWord = headlineFrom(words)
    expect(words.startsWith(`${cutAtWord.slice(0, -1)} `)).toBe(true)
    expect([...cutAtWord].length).toBeLessThanOrEqual(140)
  })

  it('is taken again when edit corrects the text; a typed headline stays, and the edit says so', () => {
    world = makeWorld(config)
    const ctx = world.ctx
    const derived = createDraft(ctx, {text: 'The A55 is closed at J11. Avoid the area.', severity: 'Minor', channels: []})
    const reopened = editAnnouncement(ctx, derived.id, {text: 'The A55 is open again at J11. Drive carefully.'})
    expect(reopened.announcement.variants[0]!.headline).toBe('The A55 is open again at J11.')
    expect(reopened.keptHeadline).toBeUndefined()
    const typed = createDraft(ctx, {text: 'The A55 is closed at J11.', headline: 'A55 closed at J11', severity: 'Minor', channels: []})
    const edited = editAnnouncement(ctx, typed.id, {text: 'The A55 is open again at J11.'})
    expect(edited.announcement.variants[0]!.headline).toBe('A55 closed at J11')
    expect(edited.keptHeadline).toBe('A55 closed at J11')
    expect(editAnnouncement(ctx, typed.id, {expires: '+2h'}).keptHeadline).toBeUndefined()
  })
})

describe('an Update’s instruction', () => {
  it('is the original’s unless given, and --instruction "" drops it', () => {
    world = makeWorld(config)
    const original = createDraft(world.ctx, {text: 'The A55 is flooded.', instruction: 'Avoid the area.', severity: 'Minor', channels: []})
    expect(createDraft(world.ctx, {text: 'Still flooded.', channels: []}, {msgType: 'Update', original}).variants[0]!.instruction).toBe('Avoid the area.')
    expect(createDraft(world.ctx, {text: 'Reopened.', instruction: 'Drive carefully.', channels: []}, {msgType: 'Update', original}).variants[0]!.instruction).toBe('Drive carefully.')
    expect(createDraft(world.ctx, {text: 'Reopened.', instruction: '', channels: []}, {msgType: 'Update', original}).variants[0]!.instruction).toBeUndefined()
  })
})

describe('edit with an empty value', () => {
  it('takes the field back: --web "" removes the link, --event "" gives the category its own word', () => {
    world = makeWorld(config)
    const created = createDraft(world.ctx, {text: 'Road closed.', severity: 'Minor', category: 'Transport', event: 'Wrong event', web: 'https://example.org/a55', channels: []})
    const edited = editAnnouncement(world.ctx, created.id, {web: '', event: ' '}).announcement
    expect(edited.web).toBeUndefined()
    expect(edited.event).toBe(createDraft(world.ctx, {text: 'x.', severity: 'Minor', category: 'Transport', channels: []}).event)
    expect(world.ctx.store.announcements.get(created.id)!.web).toBeUndefined()
  })

  it("an event that is the category's own word follows a new category; a typed one stays", () => {
    world = makeWorld(config)
    const reset = createDraft(world.ctx, {text: 'Road closed.', severity: 'Minor', category: 'Transport', event: 'Road closure', channels: []})
    editAnnouncement(world.ctx, reset.id, {event: ''})
    const moved = editAnnouncement(world.ctx, reset.id, {category: 'Fire'}).announcement
    expect([moved.category, moved.event]).toEqual(['Fire', 'Fire'])
    const typed = createDraft(world.ctx, {text: 'Road closed.', severity: 'Minor', category: 'Transport', event: 'Road closure', channels: []})
    expect(editAnnouncement(world.ctx, typed.id, {category: 'Fire'}).announcement.event).toBe('Road closure')
    const untyped = createDraft(world.ctx, {text: 'Smoke.', severity: 'Minor', channels: []})
    expect(untyped.event).toBe('Announcement')
    expect(editAnnouncement(world.ctx, untyped.id, {category: 'Met'}).announcement.event).toBe('Weather')
  })
})
