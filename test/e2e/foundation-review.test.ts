import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {jsonOf, makeCrierHome} from '../helpers/cli.js'
import {draft, ok, refused, show, twoChannelConfig} from '../helpers/cli-assertions.js'
import {capSchemaErrors} from '../helpers/validate-cap.js'

// The review commands (edit, preview, approve, reject) through the built CLI (bin/run.js), as a
// child process with its own CRIER_HOME; the other foundation commands are in
// foundation-commands.test.ts (split in two so the files run in parallel). Build first:
//   npx tsc -p tsconfig.build.json && node scripts/write-manifest.js

describe('crier edit', () => {
  const home = makeCrierHome()
  afterAll(() => home.cleanup())

  it('changes the fields given by flags and keeps the rest', () => {
    const created = draft(home, ['Original text. Second sentence.', '--severity', 'Minor', '--area', 'Bangor', '--expires', '+6h'])
    const result = ok(home.run(['edit', created.shortId, '--headline', 'New headline', '--severity', 'Moderate', '--urgency', 'Future', '--certainty', 'Possible', '--category', 'Met', '--event', 'Snow', '--area', 'Conwy', '--expires', '2099-12-31T23:00:00Z', '--instruction', 'Stay in.', '--web', 'https://example.org/snow', '--lang', 'en-GB']))
    expect(result.stdout).toBe(`Edited ${created.shortId}.\n`)
    const stored = show(home, created.id)
    expect(stored).toMatchObject({
      headline: 'New headline',
      severity: 'Moderate',
      urgency: 'Future',
      certainty: 'Possible',
      category: 'Met',
      event: 'Snow',
      area: {description: 'Conwy'},
      expiresAt: Date.parse('2099-12-31T23:00:00Z'),
      web: 'https://example.org/snow',
      state: 'draft',
      createdAt: created.createdAt,
      author: 'officer.author',
    })
    expect(stored.variants[0]).toEqual({language: 'en-GB', headline: 'New headline', description: 'Original text. Second sentence.', instruction: 'Stay in.'})
    expect(stored.updatedAt).toBeGreaterThanOrEqual(created.updatedAt)
  })

  it('changes the text with --text, --text - (stdin) and --file; --json prints the result', () => {
    const created = draft(home, ['Before.', '--severity', 'Minor'])
    expect(jsonOf(ok(home.run(['edit', created.id, '--text', 'After, by flag.', '--json'])))).toMatchObject({id: created.id, withdrawnApprovals: 0, variants: [{description: 'After, by flag.'}]})
    ok(home.run(['edit', created.id, '--text', '-'], {input: 'After, by stdin.\n'}))
    expect(show(home, created.id).variants[0].description).toBe('After, by stdin.')
    const file = join(home.home, 'edited.txt')
    writeFileSync(file, 'After, by file.\n')
    ok(home.run(['edit', created.id, '--file', file]))
    expect(show(home, created.id).variants[0].description).toBe('After, by file.')
    // a headline taken from the text (its first sentence) is taken again from the new text
    expect(show(home, created.id).headline).toBe('After, by file.')
  })

  it('refuses to run with nothing to change when not on a terminal (exit 2)', () => {
    const created = draft(home, ['Nothing to change.', '--severity', 'Minor'])
    refused(home.run(['edit', created.id]), 2, /nothing to change — give a flag such as --text/)
  })

  it('editing an approved Severe announcement withdraws the approval and returns it to pending_approval', () => {
    const created = draft(home, ['Evacuate the caravan park.', '--severity', 'Severe', '--area', 'Towyn'])
    ok(home.run(['approve', created.id], {env: {CRIER_USER: 'sgt.jones'}}))
    expect(show(home, created.id)).toMatchObject({state: 'approved', approvals: {required: 1, valid: 1}})

    const result = ok(home.run(['edit', created.id, '--area', 'Towyn and Kinmel Bay']))
    expect(result.stdout).toBe(`Edited ${created.shortId}; 1 approval withdrawn — it needs approving again.\n`)
    const stored = show(home, created.id)
    expect(stored.state).toBe('pending_approval')
    expect(stored.approvals).toMatchObject({required: 1, valid: 0, by: []})
    expect(stored.area.description).toBe('Towyn and Kinmel Bay')

    // it may be approved again, and edited again with --json saying what was withdrawn
    ok(home.run(['approve', created.id], {env: {CRIER_USER: 'sgt.jones'}}))
    expect(show(home, created.id).state).toBe('approved')
    expect(jsonOf(ok(home.run(['edit', created.id, '--headline', 'Evacuate now', '--json'])))).toMatchObject({state: 'pending_approval', withdrawnApprovals: 1})
  })

  it('refuses to edit a sent announcement (exit 3) and leaves it as it was', () => {
    const created = draft(home, ['Water restored.', '--severity', 'Minor'])
    ok(home.run(['broadcast', created.id]))
    const before = show(home, created.id)
    expect(before.state).toBe('sent')
    refused(home.run(['edit', created.id, '--headline', 'Changed after sending']), 3, /cannot edit [0-9A-Z]{12} — it has been sent — use crier update or crier cancel/)
    expect(show(home, created.id)).toEqual(before)
  })
})

describe('crier preview', () => {
  const home = makeCrierHome()
  afterAll(() => home.cleanup())

  it('shows per channel the exact CAP XML the feed writes, which validates against CAP 1.2', async () => {
    const created = draft(home, ['-', '--headline', 'A55 closed <westbound> & "J11"', '--severity', 'Moderate', '--urgency', 'Expected', '--certainty', 'Observed', '--category', 'Transport', '--event', 'Road closure', '--area', 'Bangor, Gwynedd', '--expires', '+6h', '--instruction', 'Use the A5.'], {
      input: 'The A55 is closed westbound between J11 and J12 after a collision.',
    })
    const preview = jsonOf(ok(home.run(['preview', created.shortId, '--json'])))
    expect(preview.announcement.id).toBe(created.id)
    expect(preview.channels).toHaveLength(1)
    const website = preview.channels[0]
    expect(website).toMatchObject({channel: 'website', type: 'feed'})
    const capPart = website.parts.find((p: any) => p.label === `cap/${created.id}.xml`)
    expect(capPart, JSON.stringify(website.parts.map((p: any) => p.label))).toBeDefined()
    const capXml: string = capPart.text
    expect(capXml).toMatch(/^<\?xml version="1\.0" encoding="UTF-8"\?>\n<alert xmlns="urn:oasis:names:tc:emergency:cap:1\.2">/)
    expect(capXml).toContain(`<identifier>crier-${created.id}</identifier>`)
    expect(capXml).toContain('<headline>A55 closed &lt;westbound&gt; &amp; "J11"</headline>')
    expect(capXml).toContain('<areaDesc>Bangor, Gwynedd</areaDesc>')
    expect(capXml).toContain('<instruction>Use the A5.</instruction>')
    expect(await capSchemaErrors(capXml)).toEqual([])
    expect(website.parts.some((p: any) => p.label.startsWith('alerts.atom entry'))).toBe(true)
    expect(preview.findings).toEqual([])
    expect(preview.approvals).toEqual({required: 0, valid: 0, satisfied: true})

    // the text preview prints the same document
    const text = ok(home.run(['preview', created.id])).stdout
    expect(text).toContain('── website (feed) ──')
    expect(text).toContain(capXml.replace(/\n+$/, ''))
    expect(text).toContain('Policy: no findings.')
    expect(text).toContain('Approval: not needed.')

    // and the feed writes exactly that, byte for byte — but for <sent>, which is when the
    // broadcast began (the preview shows the draft's time until then)
    ok(home.run(['broadcast', created.id]))
    const published = readFileSync(join(home.home, 'public', 'cap', `${created.id}.xml`), 'utf8')
    const withoutSent = (xml: string) => xml.replace(/<sent>[^<]+<\/sent>/, '<sent/>')
    expect(withoutSent(published)).toBe(withoutSent(capXml))
    const {issuedAt} = show(home, created.id) as {issuedAt: number}
    expect(issuedAt).toBeGreaterThanOrEqual(created.createdAt)
    expect(published).toContain(`<sent>${new Date(issuedAt).toISOString().slice(0, 19)}-00:00</sent>`)
  })

  it('gives a policy warning for a headline over 160 characters, in text and --json', () => {
    const headline = 'H'.repeat(161)
    const created = draft(home, ['Long headline test.', '--headline', headline, '--severity', 'Minor'])
    const preview = jsonOf(ok(home.run(['preview', created.id, '--json'])))
    expect(preview.findings).toEqual([{level: 'warning', rule: 'headline-length', message: expect.stringMatching(/headline \(en\) is 161 characters; CAP advises under 160/)}])
    expect(ok(home.run(['preview', created.id])).stdout).toMatch(/^Policy warning: headline \(en\) is 161 characters/m)
    // 160 is fine
    const fine = draft(home, ['Long headline test.', '--headline', 'H'.repeat(160), '--severity', 'Minor'])
    expect(jsonOf(ok(home.run(['preview', fine.id, '--json']))).findings).toEqual([])
    // a warning does not block approval
    const approved = ok(home.run(['approve', created.id, '--json'], {env: {CRIER_USER: 'sgt.jones'}}))
    expect(jsonOf(approved).state).toBe('approved')
  })

  it('says where approval stands for a Severe announcement', () => {
    const created = draft(home, ['Severe weather.', '--severity', 'Severe'])
    expect(ok(home.run(['preview', created.id])).stdout).toContain(`Approval: 0/1; needs 1, by an officer other than officer.author: crier approve ${created.shortId}`)
    expect(jsonOf(ok(home.run(['preview', created.id, '--json']))).approvals).toEqual({required: 1, valid: 0, satisfied: false})
  })

  it('--channel shows one channel; a channel the announcement does not go to is refused (exit 2)', () => {
    const created = draft(home, ['Channel filter.', '--severity', 'Minor'])
    expect(jsonOf(ok(home.run(['preview', created.id, '--channel', 'website', '--json']))).channels.map((c: any) => c.channel)).toEqual(['website'])
    refused(home.run(['preview', created.id, '--channel', 'x']), 2, /x is not one of this announcement's channels \(website\) — name one of those, or leave out --channel for all$/)
    // Given but empty (a script's unset "$CHANNEL") is refused, not taken as every channel.
    refused(home.run(['preview', created.id, '--channel', '']), 2, /^Error: --channel names nothing — give the channels it goes to/)
  })

  it('shows each configured channel of a multi-channel announcement', () => {
    const multi = makeCrierHome()
    try {
      multi.writeConfig(twoChannelConfig)
      const created = draft(multi, ['Two channels.', '--severity', 'Minor', '--channel', 'website,intranet'])
      // A comma list, as draft takes.
      expect(jsonOf(ok(multi.run(['preview', created.id, '--channel', 'intranet, website', '--json']))).channels.map((c: any) => c.channel)).toEqual(['website', 'intranet'])
      const preview = jsonOf(ok(multi.run(['preview', created.id, '--json'])))
      expect(preview.channels.map((c: any) => [c.channel, c.type])).toEqual([
        ['website', 'feed'],
        ['intranet', 'feed'],
      ])
      // the feed with a baseUrl links absolutely; both carry the same CAP document
      const capOf = (c: any) => c.parts.find((p: any) => p.label.startsWith('cap/')).text
      expect(capOf(preview.channels[0])).toBe(capOf(preview.channels[1]))
      expect(preview.channels[0].parts.find((p: any) => p.label.startsWith('alerts.atom')).text).toContain(`https://northwales.example/alerts/cap/${created.id}.xml`)
    } finally {
      multi.cleanup()
    }
  })
})

describe('crier approve and reject', () => {
  const home = makeCrierHome()
  const jones = {CRIER_USER: 'sgt.jones'}
  afterAll(() => home.cleanup())

  it('refuses the author approving their own Severe announcement (exit 3); another officer approves', () => {
    const created = draft(home, ['Evacuate Pentre.', '--severity', 'Severe'])
    refused(home.run(['approve', created.id]), 3, /officer\.author wrote this announcement and policy needs someone else to approve it/)
    expect(show(home, created.id)).toMatchObject({state: 'pending_approval', approvals: {valid: 0, by: []}})

    const result = ok(home.run(['approve', created.shortId], {env: jones}))
    // The approver's output shows every word their name goes on.
    expect(result.stdout).toBe(`You approved (Severe, to website):\n  Evacuate Pentre.\n    Evacuate Pentre.\nApproved ${created.shortId} by sgt.jones (1/1). Next: crier broadcast ${created.shortId}\n`)
    const stored = show(home, created.id)
    expect(stored.state).toBe('approved')
    expect(stored.approvals).toMatchObject({required: 1, valid: 1, by: [{approver: 'sgt.jones', current: true}]})
    expect(ok(home.run(['show', created.id])).stdout).toMatch(/Approvals: +1\/1 \(sgt\.jones\)/)

    // the same officer again is refused, and nothing changes
    refused(home.run(['approve', created.id], {env: jones}), 3, /cannot approve [0-9A-Z]{12} — it is approved/)
    expect(show(home, created.id).approvals.by).toHaveLength(1)
  })

  it('approve --json reports the approvals', () => {
    const created = draft(home, ['Evacuate Glan Conwy.', '--severity', 'Extreme'])
    expect(jsonOf(ok(home.run(['approve', created.id, '--json'], {env: jones})))).toMatchObject({id: created.id, state: 'approved', approvals: {required: 1, valid: 1, satisfied: true}})
  })

  it('CRIER_USER is trimmed', () => {
    const created = draft(home, ['Trim test.', '--severity', 'Severe'])
    ok(home.run(['approve', created.id], {env: {CRIER_USER: '  sgt.evans  '}}))
    expect(show(home, created.id).approvals.by[0].approver).toBe('sgt.evans')
  })

  it('refuses one officer approving twice when policy needs two approvals (exit 3)', () => {
    const two = makeCrierHome()
    try {
      two.writeConfig('channels:\n  website: { type: feed, dir: ./public }\npolicy:\n  approvals: { default: 0, bySeverity: { Severe: 2 } }\n')
      const created = draft(two, ['Two approvals needed.', '--severity', 'Severe'])
      expect(ok(two.run(['approve', created.id], {env: jones})).stdout).toBe(`You approved (Severe, to website):\n  Two approvals needed.\n    Two approvals needed.\nApproval by sgt.jones recorded (1/2); ${created.shortId} needs 1 more.\n`)
      expect(show(two, created.id).state).toBe('pending_approval')
      refused(two.run(['approve', created.id], {env: jones}), 3, /sgt\.jones has already approved this announcement — policy counts one approval per person/)
      refused(two.run(['approve', created.id]), 3, /officer\.author wrote this announcement/)
      ok(two.run(['approve', created.id], {env: {CRIER_USER: 'insp.hughes'}}))
      expect(show(two, created.id)).toMatchObject({state: 'approved', approvals: {required: 2, valid: 2}})
    } finally {
      two.cleanup()
    }
  })

  it('reject --reason sends it back to draft, withdraws the approvals and shows the reason', () => {
    const created = draft(home, ['Wrong junction.', '--severity', 'Severe'])
    ok(home.run(['approve', created.id], {env: jones}))
    const result = ok(home.run(['reject', created.shortId, '--reason', 'Wrong junction numbers: it is J12, not J11'], {env: jones}))
    expect(result.stdout).toBe(`Rejected ${created.shortId}: back to draft.\n`)
    const stored = show(home, created.id)
    expect(stored).toMatchObject({state: 'draft', rejectReason: 'Wrong junction numbers: it is J12, not J11', approvals: {valid: 0, by: []}})
    expect(ok(home.run(['show', created.id])).stdout).toMatch(/Rejected: +Wrong junction numbers: it is J12, not J11/)

    // editing clears the reason; the author fixes it and it is approved again
    ok(home.run(['edit', created.id, '--text', 'Right junction.']))
    expect(show(home, created.id).rejectReason).toBeUndefined()
    ok(home.run(['approve', created.id], {env: jones}))
    expect(show(home, created.id).state).toBe('approved')
  })

  it('reject --json prints the announcement; reject without --reason or with an empty one is refused (exit 2)', () => {
    const created = draft(home, ['Reject json.', '--severity', 'Severe'])
    ok(home.run(['approve', created.id], {env: jones}))
    const result = home.run(['reject', created.id])
    expect(result.status).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr).toMatch(/^Error: .*reason/m)
    refused(home.run(['reject', created.id, '--reason', '  ']), 2, /--reason is required — say what must change/)
    expect(show(home, created.id).state).toBe('approved')
    expect(jsonOf(ok(home.run(['reject', created.id, '--reason', 'Typo', '--json'])))).toMatchObject({id: created.id, state: 'draft', rejectReason: 'Typo'})
  })

  it('refuses approving or rejecting a sent announcement (exit 3)', () => {
    const created = draft(home, ['Already out.', '--severity', 'Severe'])
    ok(home.run(['approve', created.id], {env: jones}))
    ok(home.run(['broadcast', created.id]))
    refused(home.run(['approve', created.id], {env: {CRIER_USER: 'insp.hughes'}}), 3, /cannot approve [0-9A-Z]{12} — it has been sent/)
    refused(home.run(['reject', created.id, '--reason', 'too late'], {env: jones}), 3, /cannot reject [0-9A-Z]{12} — it has been sent/)
    expect(show(home, created.id).state).toBe('sent')
  })
})
