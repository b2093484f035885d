import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {jsonOf, makeCrierHome, storeFacts, type CrierHome} from '../helpers/cli.js'
import {draft, exited, explain, ok, refused, show} from '../helpers/cli-assertions.js'
import {capSchemaErrors} from '../helpers/validate-cap.js'

// Through the built CLI: drills marked as such (CAP status), language tags the CAP schema
// accepts, a second language added by edit beside the first, and expiries a date can hold.

let home: CrierHome | undefined
afterEach(() => {
  home?.cleanup()
  home = undefined
})

/** A public website, and a training feed that takes drills. */
const config = `sender: alerts@northwales.example
senderName: North Wales Police
languages: [en-GB, cy-GB]
channels:
  website:  { type: feed, dir: ./public/website, baseUrl: https://northwales.example/alerts }
  training: { type: feed, dir: ./public/training, baseUrl: https://training.northwales.example/alerts, allowTest: true }
`

function capOf(h: CrierHome, channelDir: string, id: string): string {
  return readFileSync(join(h.home, 'public', channelDir, 'cap', `${id}.xml`), 'utf8')
}

describe('--status: a drill is marked as one', () => {
  it('broadcast - --status Test drafts and sends a drill in one step where allowed, and refuses it elsewhere naming no rolled-back id', async () => {
    home = makeCrierHome()
    home.writeConfig(config)
    const sent = home.run(['broadcast', '-', '--severity', 'Minor', '--status', 'Test', '--channel', 'training', '--json'], {input: 'Test of the alerting system. No action needed.'})
    expect(sent.status, explain(sent)).toBe(0)
    const id = jsonOf(sent).announcement.id as string
    const cap = capOf(home, 'training', id)
    expect(cap).toContain('<status>Test</status>')
    expect(await capSchemaErrors(cap)).toEqual([])
    const before = storeFacts(home)
    const elsewhere = home.run(['broadcast', '-', '--severity', 'Minor', '--status', 'Test', '--channel', 'website'], {input: 'Test of the alerting system.'})
    expect(elsewhere.status).toBe(3)
    expect(elsewhere.stderr).toMatch(/^Error: refused by policy — Test announcements may not go to website — it is not marked allowTest: choose other channels or set channels\.website\.allowTest: true — nothing was saved/)
    expect(elsewhere.stderr).not.toMatch(/[0-9A-Z]{12}/)
    expect(storeFacts(home)).toEqual(before)
  })

  it('an Exercise to a channel without allowTest: a preview error, and broadcast refuses it (exit 3)', () => {
    home = makeCrierHome()
    home.writeConfig(config)
    const drill = draft(home, ['Evacuate the riverside (exercise).', '--severity', 'Minor', '--status', 'exercise', '--channel', 'website'])
    expect(drill.status).toBe('Exercise')
    expect(ok(home.run(['show', drill.id])).stdout).toMatch(/\(Exercise Alert\)/)
    // A policy error (no allowTest): the whole preview, and exit 3 as broadcast would.
    const preview = exited(home.run(['preview', drill.id]), 3).stdout
    expect(preview).toContain('<status>Exercise</status>')
    // The officer reads what it is before anything else, in the preview and in every list.
    expect(preview.split('\n')[0]).toMatch(/^\w{12} {2}Minor {2}\[EXERCISE\] Evacuate the riverside \(exercise\)\.$/)
    expect(ok(home.run(['list'])).stdout).toMatch(/^\w{12} {2}draft +Minor +\d{4}-\d\d-\d\d \d\d:\d\d \S+ {2}\[EXERCISE\] Evacuate the riverside/m)
    expect(preview).toMatch(/^Policy error: Exercise announcements may not go to website — it is not marked allowTest/m)
    refused(home.run(['broadcast', drill.id]), 3, /refused by policy — Exercise announcements may not go to website/)
    expect(storeFacts(home).deliveries).toBe(0)
  })

  it('goes out to a channel that takes drills, as an Exercise in its CAP; an Update of it is one too', async () => {
    home = makeCrierHome()
    home.writeConfig(config)
    const created = ok(home.run(['draft', 'Siren test in Conwy at noon.', '--severity', 'Minor', '--status', 'Test', '--channel', 'training']))
    expect(created.stdout).toMatch(/^Draft (\w+) created \(Minor, Test\)\. Next: crier preview \1$/m)
    const id = jsonOf(ok(home.run(['list', '--json'])))[0].id as string
    ok(home.run(['broadcast', id]))
    const cap = capOf(home, 'training', id)
    expect(cap).toContain('<status>Test</status>')
    expect(await capSchemaErrors(cap)).toEqual([])
    const update = jsonOf(ok(home.run(['update', id, 'The siren test is over.', '--json'])))
    expect(update.status).toBe('Test')
    // update takes no --status: a follow-up is what its original was.
    refused(home.run(['update', id, 'Real now.', '--status', 'Actual']), 2, /--status/)
  })

  it('edit --status changes it, and back', () => {
    home = makeCrierHome()
    home.writeConfig(config)
    const drafted = draft(home, ['Road closed in Bangor.', '--severity', 'Minor', '--channel', 'website'])
    expect(drafted.status).toBe('Actual')
    ok(home.run(['edit', drafted.id, '--status', 'Exercise']))
    expect(show(home, drafted.id).status).toBe('Exercise')
    ok(home.run(['edit', drafted.id, '--status', 'actual']))
    expect(show(home, drafted.id).status).toBe('Actual')
  })

  it('refuses CAP’s System and Draft, which are not for the public, and nonsense: exit 2, nothing stored', () => {
    home = makeCrierHome()
    home.writeConfig(config)
    refused(home.run(['draft', 'Test.', '--severity', 'Minor', '--channel', 'website', '--status', 'System']), 2, /^Error: --status System is CAP's, not for the public — use Actual, or Exercise or Test for a drill/)
    refused(home.run(['draft', 'Test.', '--severity', 'Minor', '--channel', 'website', '--status', 'draft']), 2, /^Error: --status Draft is CAP's, not for the public/)
    refused(home.run(['draft', 'Test.', '--severity', 'Minor', '--channel', 'website', '--status', 'drill']), 2, /^Error: --status "drill" is not valid — use one of Actual, Exercise, Test$/)
    expect(storeFacts(home).announcements).toBe(0)
  })
})

describe('--lang: a language tag (xs:language)', () => {
  it('refuses what the CAP schema would not take, naming the flag and a tag to write: exit 2, nothing stored', () => {
    home = makeCrierHome()
    home.writeConfig(config)
    refused(home.run(['draft', 'Ffordd ar gau.', '--severity', 'Minor', '--channel', 'website', '--lang', 'cy_GB']), 2, /^Error: --lang "cy_GB" is not a language tag — write it with a hyphen: --lang cy-GB$/)
    refused(home.run(['draft', 'Road closed.', '--severity', 'Minor', '--channel', 'website', '--lang', 'not a language']), 2, /^Error: --lang "not a language" is not a language tag — give a language tag such as cy-GB or en$/)
    expect(storeFacts(home).announcements).toBe(0)
    const drafted = draft(home, ['Road closed.', '--severity', 'Minor', '--channel', 'website'])
    refused(home.run(['edit', drafted.id, '--lang', 'cy_GB', '--text', 'Ffordd ar gau.']), 2, /--lang "cy_GB" is not a language tag/)
    expect(show(home, drafted.id).variants).toEqual(drafted.variants)
  })
})

describe('edit --lang: one language of a bilingual announcement', () => {
  it('adds the Welsh beside the English, then changes only the Welsh; both go out in the CAP document', async () => {
    home = makeCrierHome()
    home.writeConfig(config)
    const drafted = draft(home, ['The A55 is closed westbound at J11.', '--severity', 'Minor', '--channel', 'website', '--headline', 'A55 closed westbound'])
    ok(home.run(['edit', drafted.id, '--lang', 'cy-GB', '--text', 'Mae’r A55 ar gau tua’r gorllewin ger C11.']))
    ok(home.run(['edit', drafted.id, '--lang', 'cy-GB', '--headline', 'A55 ar gau tua’r gorllewin']))
    const edited = show(home, drafted.id)
    expect(edited.variants).toEqual([
      {language: 'en-GB', headline: 'A55 closed westbound', description: 'The A55 is closed westbound at J11.'},
      {language: 'cy-GB', headline: 'A55 ar gau tua’r gorllewin', description: 'Mae’r A55 ar gau tua’r gorllewin ger C11.'},
    ])
    ok(home.run(['broadcast', drafted.id]))
    const cap = capOf(home, 'website', drafted.id)
    expect(cap).toContain('<language>en-GB</language>')
    expect(cap).toContain('<language>cy-GB</language>')
    expect(await capSchemaErrors(cap)).toEqual([])
  })

  it('a language it does not have, without its text: exit 2, nothing changed', () => {
    home = makeCrierHome()
    home.writeConfig(config)
    const drafted = draft(home, ['Road closed.', '--severity', 'Minor', '--channel', 'website'])
    const result = home.run(['edit', drafted.id, '--lang', 'cy-GB'])
    expect(result.status, explain(result)).toBe(2)
    expect(result.stderr).toMatch(/^Error: nothing to change — give a flag such as --text, --headline or --expires with --lang/)
    refused(home.run(['edit', drafted.id, '--lang', 'cy-GB', '--headline', 'Ffordd ar gau']), 2, /has no cy-GB text \(it has en-GB\) — give --text or --file with --lang cy-GB to add it/)
    expect(show(home, drafted.id).variants).toEqual(drafted.variants)
  })
})

describe('an Update or Cancel of a bilingual announcement', () => {
  it('warns, naming the command, while it lacks a language the original went out in; with the Welsh added both go out', async () => {
    home = makeCrierHome()
    home.writeConfig(config)
    const original = draft(home, ['The A55 is closed westbound at J11.', '--severity', 'Minor', '--channel', 'website', '--headline', 'A55 closed westbound'])
    ok(home.run(['edit', original.id, '--lang', 'cy-GB', '--headline', 'A55 ar gau tua’r gorllewin', '--text', 'Mae’r A55 ar gau tua’r gorllewin ger C11.']))
    ok(home.run(['broadcast', original.id]))

    const update = jsonOf(ok(home.run(['update', original.id, 'The A55 westbound has reopened at J11.', '--headline', 'A55 reopened', '--json'])))
    const short = update.shortId as string
    const warning = `Policy warning: ${original.id.slice(0, 12)}, which this Update follows up, went out in cy-GB too; this has no cy-GB text — add it: crier edit ${short} --lang cy-GB --headline … --text …`
    expect(ok(home.run(['preview', short])).stdout).toContain(warning)
    const findings = jsonOf(ok(home.run(['preview', short, '--json']))).findings as Array<{rule: string; level: string}>
    expect(findings).toContainEqual(expect.objectContaining({rule: 'follow-up-language', level: 'warning'}))

    ok(home.run(['edit', short, '--lang', 'cy-GB', '--headline', 'A55 ar agor eto', '--text', 'Mae’r A55 tua’r gorllewin ar agor eto ger C11.']))
    expect(ok(home.run(['preview', short])).stdout).not.toContain('follows up')
    ok(home.run(['broadcast', short]))
    const cap = capOf(home, 'website', update.id as string)
    expect(cap).toContain('<msgType>Update</msgType>')
    expect(cap).toContain('<headline>A55 ar agor eto</headline>')
    expect(await capSchemaErrors(cap)).toEqual([])

    // Its Cancel, held (--hold), is drafted in English: the same warning until the Welsh is given.
    const cancelled = jsonOf(ok(home.run(['cancel', short, '--hold', '--json'])))
    expect(cancelled.followUpHeld).toEqual({policy: false, approval: false, asked: true})
    const cancel = (cancelled.followUp as {announcement: {id: string}}).announcement.id.slice(0, 12)
    expect(show(home, cancel)).toMatchObject({state: 'draft', msgType: 'Cancel', deliveries: []})
    expect(ok(home.run(['preview', cancel])).stdout).toContain(`went out in cy-GB too; this has no cy-GB text — add it: crier edit ${cancel} --lang cy-GB`)
    ok(home.run(['edit', cancel, '--lang', 'cy-GB', '--headline', 'Wedi’i chanslo: A55 ar agor eto', '--text', 'Mae’r neges wedi’i chanslo.']))
    ok(home.run(['broadcast', cancel]))
    const cancelCap = capOf(home, 'website', (cancelled.followUp as {announcement: {id: string}}).announcement.id)
    expect(cancelCap).toContain('<msgType>Cancel</msgType>')
    expect(cancelCap).toContain('<language>cy-GB</language>')
    expect(await capSchemaErrors(cancelCap)).toEqual([])
  })

  it('a Cancel sent at once in one language says, on stderr, which language the original had that it lacks', () => {
    home = makeCrierHome()
    home.writeConfig(config)
    const original = draft(home, ['The A55 is closed westbound at J11.', '--severity', 'Minor', '--channel', 'website'])
    ok(home.run(['edit', original.id, '--lang', 'cy-GB', '--text', 'Mae’r A55 ar gau tua’r gorllewin ger C11.']))
    ok(home.run(['broadcast', original.id]))
    const cancelled = ok(home.run(['cancel', original.id]))
    expect(cancelled.stdout).toMatch(/^website +sent 1\/1/m)
    expect(cancelled.stderr).toContain(`Note: ${original.id.slice(0, 12)}, which this Cancel follows up, went out in cy-GB too; this has no cy-GB text (crier cancel --hold drafts the Cancel to add a language to before it goes)`)
  })
})

describe('--expires: no further than a date can hold', () => {
  it('refuses an unbounded relative expiry at draft and edit (exit 2), so show and preview keep working', () => {
    home = makeCrierHome()
    home.writeConfig(config)
    for (const far of ['+100000000d', '+99999999999999999999d']) {
      refused(home.run(['draft', 'Road closed.', '--severity', 'Minor', '--channel', 'website', '--expires', far]), 2, new RegExp(`^Error: --expires "\\${far}" is past the year 9999 — give a nearer time`))
    }
    expect(storeFacts(home).announcements).toBe(0)
    const drafted = draft(home, ['Road closed.', '--severity', 'Minor', '--channel', 'website', '--expires', '+6h'])
    refused(home.run(['edit', drafted.id, '--expires', '+100000000d']), 2, /is past the year 9999/)
    expect(show(home, drafted.id).expiresAt).toBe(drafted.expiresAt)
    ok(home.run(['preview', drafted.id]))
  })
})
