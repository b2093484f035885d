import {afterEach, describe, expect, it} from 'vitest'
import {jsonOf, makeCrierHome, storeFacts, type CrierHome} from '../helpers/cli.js'
import {draft, explain, ok, refused, show} from '../helpers/cli-assertions.js'

// The emergency override through the built CLI: one officer sends an Extreme announcement
// without the second approval where policy allows it; it is recorded with its reason and
// flagged in list, show, status and the audit trail until another officer reviews it. Build
// first: npx tsc -p tsconfig.build.json && node scripts/write-manifest.js

const configWith = (override: string) => `sender: alerts@northwales.example
channels:
  website: {type: feed, dir: ./public, baseUrl: "https://northwales.example/alerts"}
policy:
  approvals: {default: 0, bySeverity: {Extreme: 2, Severe: 2}, authorMayApprove: false}
  emergencyOverride: ${override}
`
const officer = {CRIER_USER: 'insp.owen'}
const reviewer = {CRIER_USER: 'supt.hughes'}
const flag = 'OVERRIDE — not yet reviewed'

let home: CrierHome | undefined
afterEach(() => {
  home?.cleanup()
  home = undefined
})

function homeWith(override: string): CrierHome {
  home = makeCrierHome()
  home.writeConfig(configWith(override))
  return home
}

function auditActions(h: CrierHome, id: string): Array<{actor: string; action: string; details: Record<string, unknown>}> {
  return jsonOf(ok(h.run(['audit', '--id', id, '--all', '--json']))).events
}

describe('crier broadcast --override', () => {
  it('is reviewed neither by the officer who overrode nor, where an author may not approve, by the author', () => {
    const h = homeWith('{allowed: true}')
    const author = {CRIER_USER: 'pc.alice'}
    const created = draft(h, ['The Conwy bridge is failing. Leave the riverside now.', '--severity', 'Extreme'], {env: author})
    ok(h.run(['broadcast', created.id, '--override', '--reason', 'Bridge failing; no second officer reachable'], {env: officer}))
    refused(h.run(['review', created.id], {env: author}), 3, /^Error: pc\.alice wrote \w+ and cannot review its override, as an author may not approve their own \(policy\.approvals\.authorMayApprove\) — another officer must$/)
    expect(show(h, created.id).override.reviewedBy).toBeUndefined()
    const reviewed = jsonOf(ok(h.run(['review', created.id, '--json'], {env: reviewer})))
    expect(reviewed.override).toMatchObject({by: 'insp.owen', reviewedBy: 'supt.hughes'})
  })

  it('sends an Extreme announcement without its approvals, records who and why, and flags it until another officer reviews it', () => {
    const h = homeWith('{allowed: true}')
    const created = draft(h, ['The Conwy bridge is failing. Leave the riverside now.', '--severity', 'Extreme'], {env: officer})
    refused(h.run(['broadcast', created.id], {env: officer}), 3, /needs 2 approvals .* or if it cannot wait: crier broadcast \S+ --override --reason "…"$/)

    const sent = ok(h.run(['broadcast', created.id, '--override', '--reason', 'Bridge failing; no second officer reachable'], {env: officer}))
    expect(sent.stderr).toContain(`Emergency override by insp.owen recorded; ${created.shortId} is flagged until another officer runs crier review ${created.shortId}.`)
    expect(sent.stdout).toMatch(/website +sent 1\/1/)

    const stored = show(h, created.id)
    expect(stored.override).toMatchObject({by: 'insp.owen', reason: 'Bridge failing; no second officer reachable', contentHash: expect.stringMatching(/^[0-9a-f]{64}$/)})
    expect(stored.override.reviewedBy).toBeUndefined()
    const listed = ok(h.run(['list']))
    expect(listed.stdout).toContain(`${created.shortId}  sent`)
    expect(listed.stdout).toContain(`[${flag}] The Conwy bridge is failing.`)
    expect(listed.stderr).toContain(`1 emergency override not yet reviewed — another officer runs crier review ${created.shortId}`)
    // The shift-start dashboard names it, and what to do.
    expect(ok(h.run(['status'])).stdout).toMatch(new RegExp(`^Sent by emergency override, not yet reviewed\n {2}${created.shortId} {2}Extreme {2}The Conwy bridge is failing\\. {2}by insp\\.owen \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d \\S+: "Bridge failing; no second officer reachable" — another officer: crier review ${created.shortId}$`, 'm'))
    expect(jsonOf(ok(h.run(['status', '--json']))).unreviewedOverrides).toEqual([expect.objectContaining({by: 'insp.owen', reason: 'Bridge failing; no second officer reachable', announcement: expect.objectContaining({id: created.id})})])
    const shown = ok(h.run(['show', created.id])).stdout
    expect(shown).toMatch(new RegExp(`^${created.id}  sent  \\[${flag}\\]$`, 'm'))
    expect(shown).toMatch(/^Override: {2}by insp\.owen, \d{4}-\d\d-\d\d \d\d:\d\d \S+ — Bridge failing; no second officer reachable$/m)
    expect(shown).toContain(`Reviewed:  not yet — another officer runs crier review ${created.shortId}`)
    expect(ok(h.run(['status', created.id])).stdout).toContain(`[${flag}]`)
    const audit = ok(h.run(['audit', '--id', created.id]))
    expect(audit.stdout).toMatch(new RegExp(`insp\\.owen +override +${created.shortId}  approvals 0/2, content [0-9a-f]{12}: Bridge failing; no second officer reachable  ${flag}$`, 'm'))
    expect(jsonOf(ok(h.run(['audit', '--json']))).unreviewedOverrides).toEqual([created.id])

    // The officer who overrode cannot review it; someone else can, once.
    refused(h.run(['review', created.id], {env: officer}), 3, /insp\.owen made this override and cannot review it — another officer must/)
    refused(h.run(['review', created.id], {env: {CRIER_USER: 'Insp.Owen'}}), 3, /Insp\.Owen made this override and cannot review it/)
    const reviewed = jsonOf(ok(h.run(['review', created.shortId, '--note', 'Justified: the bridge closed an hour later', '--json'], {env: reviewer})))
    expect(reviewed.override).toMatchObject({by: 'insp.owen', reviewedBy: 'supt.hughes', reviewNote: 'Justified: the bridge closed an hour later'})
    refused(h.run(['review', created.id], {env: {CRIER_USER: 'ch.supt.lloyd'}}), 3, /already reviewed by supt\.hughes at \S+ — nothing more to do; crier audit --id \w+ shows the record$/)

    expect(ok(h.run(['list'])).stdout).toContain('[override, reviewed] The Conwy bridge')
    expect(ok(h.run(['list'])).stderr).not.toContain('not yet reviewed')
    expect(jsonOf(ok(h.run(['status', '--json']))).unreviewedOverrides).toEqual([])
    expect(ok(h.run(['show', created.id])).stdout).toMatch(/^Reviewed: {2}by supt\.hughes, \d{4}-\d\d-\d\d \d\d:\d\d \S+ — Justified: the bridge closed an hour later$/m)
    expect(ok(h.run(['audit', '--id', created.id])).stdout).not.toContain(flag)
    const events = auditActions(h, created.id)
    const override = events.find((event) => event.action === 'override')!
    expect(override).toMatchObject({actor: 'insp.owen', details: {reason: 'Bridge failing; no second officer reachable', approvalsRequired: 2, approvalsValid: 0, contentHash: stored.override.contentHash}})
    expect(events.find((event) => event.action === 'reviewed')).toMatchObject({actor: 'supt.hughes', details: {overrideBy: 'insp.owen', note: 'Justified: the bridge closed an hour later'}})
    expect(events.map((event) => event.action).indexOf('override')).toBeLessThan(events.map((event) => event.action).indexOf('send-result'))
    expect(ok(h.run(['audit', 'verify'])).stdout).toMatch(/chain whole/)
  })

  it('stores a reason with control characters stripped', () => {
    const h = homeWith('{allowed: true}')
    const created = draft(h, ['Evacuate Towyn.', '--severity', 'Extreme'], {env: officer})
    ok(h.run(['broadcast', created.id, '--override', '--reason', 'Sea wall\u001b[2J breached\u0007\nnow\u009b31m'], {env: officer}))
    expect(show(h, created.id).override.reason).toBe('Sea wall breached now')
    expect(auditActions(h, created.id).find((event) => event.action === 'override')!.details.reason).toBe('Sea wall breached now')
  })

  it('refuses --override without --reason (exit 2) and changes nothing', () => {
    const h = homeWith('{allowed: true}')
    const created = draft(h, ['Evacuate Towyn.', '--severity', 'Extreme'], {env: officer})
    const before = storeFacts(h)
    refused(h.run(['broadcast', created.id, '--override'], {env: officer}), 2, /--override needs --reason "…" — say why/)
    refused(h.run(['broadcast', created.id, '--override', '--reason', '\u001b[31m \u0007'], {env: officer}), 2, /--override needs --reason/)
    expect(storeFacts(h)).toEqual(before)
    expect(show(h, created.id)).toMatchObject({state: 'pending_approval'})
    expect(auditActions(h, created.id).map((event) => event.action)).toEqual(['created'])
  })

  it('refuses --reason without --override (exit 2)', () => {
    const h = homeWith('{allowed: true}')
    const created = draft(h, ['Evacuate Towyn.', '--severity', 'Extreme'], {env: officer})
    refused(h.run(['broadcast', created.id, '--reason', 'urgent'], {env: officer}), 2, /--override.* — see crier broadcast --help/)
  })

  it('refuses an override where policy forbids it (exit 3), saying why, and records nothing', () => {
    const h = homeWith('{allowed: false}')
    const created = draft(h, ['Evacuate Towyn.', '--severity', 'Extreme'], {env: officer})
    const before = storeFacts(h)
    refused(h.run(['broadcast', created.id, '--override', '--reason', 'urgent'], {env: officer}), 3, /policy does not allow emergency overrides \(policy\.emergencyOverride\.allowed is false\) — \S+ needs its approvals/)
    expect(storeFacts(h)).toEqual(before)
    expect(show(h, created.id).override).toBeUndefined()
    expect(auditActions(h, created.id).map((event) => event.action)).toEqual(['created'])
  })

  it('refuses an override of an announcement that is not Extreme (exit 3)', () => {
    const h = homeWith('{allowed: true}')
    const created = draft(h, ['Road closed.', '--severity', 'Severe'], {env: officer})
    refused(h.run(['broadcast', created.id, '--override', '--reason', 'urgent'], {env: officer}), 3, /--override is only for Extreme announcements and \S+ is Severe/)
    expect(show(h, created.id)).toMatchObject({state: 'pending_approval'})
  })

  it('sends the ordinary way when the approvals are there, recording no override', () => {
    const h = homeWith('{allowed: true, reasonRequired: false}')
    const created = draft(h, ['Evacuate Towyn.', '--severity', 'Extreme'], {env: officer})
    ok(h.run(['approve', created.id], {env: reviewer}))
    ok(h.run(['approve', created.id], {env: {CRIER_USER: 'ch.supt.lloyd'}}))
    const sent = ok(h.run(['broadcast', created.id, '--override'], {env: officer}))
    expect(sent.stderr).toContain(`Override not needed: ${created.shortId} has its approvals`)
    expect(show(h, created.id)).toMatchObject({state: 'sent'})
    expect(show(h, created.id).override).toBeUndefined()
    expect(auditActions(h, created.id).map((event) => event.action)).not.toContain('override')
  })

  it('a dry run checks the override and records nothing', () => {
    const h = homeWith('{allowed: true}')
    const created = draft(h, ['Evacuate Towyn.', '--severity', 'Extreme'], {env: officer})
    const dry = ok(h.run(['broadcast', created.id, '--override', '--reason', 'urgent', '--dry-run'], {env: officer}))
    expect(dry.stderr).toContain('Emergency override by insp.owen would be recorded')
    expect(show(h, created.id)).toMatchObject({state: 'pending_approval'})
    expect(show(h, created.id).override).toBeUndefined()
  })

  it('broadcast - drafts from stdin and overrides in one step', () => {
    const h = homeWith('{allowed: true}')
    const sent = h.run(['broadcast', '-', '--severity', 'Extreme', '--override', '--reason', 'Dam breach', '--json'], {env: officer, input: 'Dam breach at Dolgarrog. Go to high ground now.'})
    expect(sent.status, explain(sent)).toBe(0)
    const {announcement} = jsonOf(sent)
    expect(announcement).toMatchObject({state: 'sent', override: {by: 'insp.owen', reason: 'Dam breach'}})
    expect(show(h, announcement.id)).toMatchObject({state: 'sent', author: 'insp.owen', override: {by: 'insp.owen', reason: 'Dam breach'}})
  })

  it('broadcast - names no id when it is refused or dry-run: nothing was saved for another officer to approve or review', () => {
    const h = homeWith('{allowed: true}')
    const dry = h.run(['broadcast', '-', '--severity', 'Extreme', '--override', '--reason', 'Dam breach', '--dry-run'], {env: officer, input: 'Dam breach at Dolgarrog.'})
    expect(dry.status, explain(dry)).toBe(0)
    expect(dry.stderr).toContain('Emergency override by insp.owen would be recorded; the announcement would be flagged until another officer reviews it (crier review).')
    expect(dry.stdout + dry.stderr).not.toMatch(/\b01[0-9A-HJKMNP-TV-Z]{10}/)
    const before = storeFacts(h)
    const severe = h.run(['broadcast', '-', '--severity', 'Severe', '--override', '--reason', 'Dam breach'], {env: officer, input: 'Dam breach at Dolgarrog.'})
    refused(severe, 3, /^Error: --override is only for Extreme announcements and it is Severe — nothing was saved; create it with crier draft, get it approved, then crier broadcast ID$/)
    h.writeConfig(configWith('{allowed: false}'))
    const notAllowed = h.run(['broadcast', '-', '--severity', 'Extreme', '--override', '--reason', 'Dam breach'], {env: officer, input: 'Dam breach at Dolgarrog.'})
    refused(notAllowed, 3, /^Error: policy does not allow emergency overrides \(policy\.emergencyOverride\.allowed is false\) — nothing was saved; create it with crier draft, get it approved, then crier broadcast ID$/)
    expect(storeFacts(h)).toEqual(before)
  })

  it('review refuses an announcement that was not overridden (exit 3)', () => {
    const h = homeWith('{allowed: true}')
    const created = draft(h, ['Road closed.', '--severity', 'Minor'], {env: officer})
    refused(h.run(['review', created.id], {env: reviewer}), 3, /was not sent by emergency override — there is nothing to review/)
  })
})
