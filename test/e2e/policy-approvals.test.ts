import {existsSync} from 'node:fs'
import {userInfo} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {jsonOf, makeCrierHome, storeFacts} from '../helpers/cli.js'
import {draft, explain, ok, refused, show} from '../helpers/cli-assertions.js'

// The two-person rule through the built CLI (bin/run.js), each officer a CRIER_USER, as on a
// shared duty-room terminal. Build first: npx tsc -p tsconfig.build.json && node scripts/write-manifest.js

const config = `channels:
  website: { type: feed, dir: ./public }
policy:
  approvals: { default: 0, bySeverity: { Extreme: 2, Severe: 1 }, authorMayApprove: false }
`
const author = {CRIER_USER: 'pc.davies'}
const jones = {CRIER_USER: 'sgt.jones'}
const hughes = {CRIER_USER: 'insp.hughes'}

describe('two-person approval through the CLI', () => {
  const home = makeCrierHome()
  home.writeConfig(config)
  afterAll(() => home.cleanup())

  it('Extreme needs two officers other than the author; self-approval and a second approval by one person are refused', () => {
    const created = draft(home, ['Evacuate Pentre now: the river defences have failed.', '--severity', 'Extreme', '--area', 'Pentre', '--expires', '+6h'], {env: author})
    expect(created.author).toBe('pc.davies')

    refused(home.run(['approve', created.id], {env: author}), 3, /^Error: pc\.davies wrote this announcement and policy needs someone else to approve it — ask another officer \(CRIER_USER names who is approving\)$/)
    refused(home.run(['broadcast', created.id], {env: author}), 3, new RegExp(`${created.shortId} \\(Extreme\\) needs 2 approvals .*has 0 — ask another officer`))

    const approvedText = `You approved (Extreme, to website):\n  ${created.variants[0].headline}\n    ${created.variants[0].description}\n  Area: Pentre\n`
    expect(ok(home.run(['approve', created.id], {env: jones})).stdout).toBe(`${approvedText}Approval by sgt.jones recorded (1/2); ${created.shortId} needs 1 more.\n`)
    expect(show(home, created.id)).toMatchObject({state: 'pending_approval', approvals: {required: 2, valid: 1, by: [{approver: 'sgt.jones', current: true}]}})
    refused(home.run(['approve', created.id], {env: jones}), 3, /sgt\.jones has already approved this announcement — policy counts one approval per person/)
    refused(home.run(['broadcast', created.id], {env: jones}), 3, /needs 2 approvals .*has 1/)
    expect(storeFacts(home).deliveries).toBe(0)

    expect(ok(home.run(['approve', created.id], {env: hughes})).stdout).toBe(`${approvedText}Approved ${created.shortId} by insp.hughes (2/2). Next: crier broadcast ${created.shortId}\n`)
    expect(show(home, created.id)).toMatchObject({state: 'approved', approvals: {required: 2, valid: 2}})
    const sent = home.run(['broadcast', created.id, '--json'], {env: author})
    expect(sent.status, explain(sent)).toBe(0)
    expect(show(home, created.id).state).toBe('sent')
    expect(existsSync(join(home.home, 'public', 'cap', `${created.id}.xml`))).toBe(true)
  })

  it('a name typed in another case is the same officer: no self-approval, no second approval that way', () => {
    const created = draft(home, ['Evacuate Bodelwyddan now.', '--severity', 'Extreme', '--area', 'Bodelwyddan', '--expires', '+6h'], {env: author})
    const before = storeFacts(home)
    refused(home.run(['approve', created.id], {env: {CRIER_USER: 'PC.Davies'}}), 3, /^Error: PC\.Davies wrote this announcement and policy needs someone else to approve it/)
    ok(home.run(['approve', created.id], {env: jones}))
    refused(home.run(['approve', created.id], {env: {CRIER_USER: 'SGT.JONES'}}), 3, /SGT\.JONES has already approved this announcement — policy counts one approval per person/)
    expect(show(home, created.id)).toMatchObject({state: 'pending_approval', approvals: {required: 2, valid: 1}})
    refused(home.run(['broadcast', created.id], {env: author}), 3, /needs 2 approvals .*has 1/)
    expect(storeFacts(home).deliveries).toBe(before.deliveries)
  })

  it('whoever edited the text may not approve it: the second pair of eyes is someone who wrote none of it', () => {
    const created = draft(home, ['Boil water before drinking in Rhyl.', '--severity', 'Severe', '--area', 'Rhyl', '--expires', '+6h'], {env: author})
    ok(home.run(['edit', created.id, '--text', 'Do not drink tap water in Rhyl until further notice.'], {env: jones}))
    refused(home.run(['approve', created.id], {env: jones}), 3, /^Error: sgt\.jones edited this announcement and policy needs someone who did not write it to approve it — ask another officer/)
    refused(home.run(['approve', created.id], {env: {CRIER_USER: 'Sgt.Jones'}}), 3, /edited this announcement/)
    refused(home.run(['broadcast', created.id], {env: jones}), 3, /needs 1 approval .*has 0/)
    ok(home.run(['approve', created.id], {env: hughes}))
    ok(home.run(['broadcast', created.id], {env: author}))
    expect(show(home, created.id).state).toBe('sent')
  })

  it('an edit that raises the severity past what needs approval says it now waits for approval', () => {
    const created = draft(home, ['Flooding on the riverside at Llanrwst.', '--severity', 'Minor', '--area', 'Llanrwst', '--expires', '+6h'], {env: author})
    expect(show(home, created.id).state).toBe('draft')
    expect(ok(home.run(['edit', created.id, '--severity', 'Severe'], {env: author})).stdout).toBe(`Edited ${created.shortId} (Severe, waiting for approval: it needs 1, by an officer other than ${author.CRIER_USER}: crier approve ${created.shortId}).\n`)
    expect(show(home, created.id).state).toBe('pending_approval')
  })

  it('editing after approval withdraws it: broadcast is refused (exit 3) and nothing is sent', () => {
    const created = draft(home, ['Evacuate the caravan park.', '--severity', 'Severe', '--area', 'Towyn', '--expires', '+6h'], {env: author})
    ok(home.run(['approve', created.id], {env: jones}))
    expect(ok(home.run(['edit', created.id, '--area', 'Towyn and Kinmel Bay'], {env: author})).stdout).toBe(`Edited ${created.shortId}; 1 approval withdrawn — it needs approving again.\n`)
    const before = storeFacts(home)
    refused(home.run(['broadcast', created.id], {env: author}), 3, new RegExp(`${created.shortId} \\(Severe\\) needs 1 approval .*has 0`))
    expect(storeFacts(home)).toEqual(before)
    expect(existsSync(join(home.home, 'public', 'cap', `${created.id}.xml`))).toBe(false)
    // approved again, it goes
    ok(home.run(['approve', created.id], {env: jones}))
    ok(home.run(['broadcast', created.id], {env: author}))
    expect(show(home, created.id).state).toBe('sent')
  })

  it('an edit that changes nothing keeps the approval, and edit --json with nothing to change is refused like edit', () => {
    const created = draft(home, ['Flooding on the riverside at Llanrwst.', '--severity', 'Severe', '--area', 'Llanrwst', '--expires', '+6h'], {env: author})
    ok(home.run(['approve', created.id], {env: jones}))
    const events = () => (jsonOf(ok(home.run(['audit', '--id', created.id, '--json']))) as {events: Array<{action: string}>}).events.map((event) => event.action)
    const before = events()
    // a script re-applying the same fields
    expect(ok(home.run(['edit', created.id, '--severity', 'Severe', '--text', 'Flooding on the riverside at Llanrwst.'], {env: author})).stdout).toBe(`Unchanged: ${created.shortId} already says that (its approvals stand).\n`)
    expect(jsonOf(ok(home.run(['edit', created.id, '--area', 'Llanrwst', '--json'], {env: author})))).toMatchObject({state: 'approved', withdrawnApprovals: 0, changed: false})
    // an empty "$FLAGS" with --json: refused as without it, nothing withdrawn
    refused(home.run(['edit', created.id, '--json'], {env: author}), 2, /nothing to change — give a flag such as --text/)
    expect(show(home, created.id)).toMatchObject({state: 'approved', approvals: {required: 1, valid: 1}})
    expect(events()).toEqual(before)
    expect(jsonOf(ok(home.run(['edit', created.id, '--area', 'Llanrwst and Trefriw', '--json'], {env: author})))).toMatchObject({state: 'pending_approval', withdrawnApprovals: 1, changed: true})
  })

  it('with --json too, edit says on stderr that a typed headline stayed over new text', () => {
    const created = draft(home, ['Road open again at Conwy.', '--headline', 'Road open', '--severity', 'Minor', '--expires', '+6h'], {env: author})
    const edited = ok(home.run(['edit', created.id, '--text', 'Road closed again at Conwy after a crash.', '--json'], {env: author}))
    expect(jsonOf(edited)).toMatchObject({changed: true, variants: [{headline: 'Road open'}]})
    expect(edited.stderr).toBe('Note: the headline stays "Road open" — if the new text says otherwise, change it with --headline\n')
  })

  it('an edit between the approver’s preview and their approval: the approval is refused (exit 3) until they read it again', () => {
    const created = draft(home, ['Flooding expected on the riverside tonight.', '--severity', 'Severe', '--area', 'Llanrwst', '--expires', '+6h'], {env: author})
    ok(home.run(['preview', created.id], {env: jones}))
    ok(home.run(['edit', created.id, '--headline', 'EVACUATE Conwy county', '--text', 'All residents of Conwy county must evacuate immediately.'], {env: author}))
    const before = storeFacts(home)
    const approval = home.run(['approve', created.id], {env: jones})
    refused(approval, 3, /since you previewed it/)
    expect(approval.stderr).toMatch(/^Error: \S+ was changed by pc\.davies since you previewed it \(\w{3} \d+ \w{3} \d{4} [\d:]+ UTC\) — read it again \(crier preview \S+\), then approve what you read\n$/)
    expect(approval.stderr).toContain(`Error: ${created.shortId} was changed`)
    expect(show(home, created.id).approvals).toMatchObject({valid: 0})
    expect(storeFacts(home)).toEqual(before)
    // Read again, approved: and the approver's output says what their name is on.
    expect(ok(home.run(['preview', created.id], {env: jones})).stdout).toContain('EVACUATE Conwy county')
    expect(ok(home.run(['approve', created.id], {env: jones})).stdout).toMatch(/^You approved \(Severe, to website\):\n {2}EVACUATE Conwy county\n[\s\S]*\nApproved /)
    // Each preview is in the audit trail: who read what, before they approved it.
    const audit = jsonOf(home.run(['audit', '--id', created.id, '--json'])).events
    expect(audit.filter((event: {action: string}) => event.action === 'previewed').map((event: {actor: string}) => event.actor)).toEqual(['sgt.jones', 'sgt.jones'])
  })

  it('text changed behind crier’s back after approval: the stored hash no longer matches, so schedule and broadcast refuse (exit 3)', () => {
    const created = draft(home, ['Boil water before drinking in Llandudno.', '--severity', 'Severe', '--area', 'Llandudno', '--expires', '+6h'], {env: author})
    ok(home.run(['approve', created.id], {env: jones}))
    const db = home.db()
    try {
      db.prepare('UPDATE announcement SET variants_json = ? WHERE id = ?').run(JSON.stringify([{language: 'en', headline: 'Water is safe to drink', description: 'Water is safe to drink in Llandudno.'}]), created.id)
    } finally {
      db.close()
    }
    const stored = show(home, created.id)
    expect(stored).toMatchObject({state: 'approved', approvals: {required: 1, valid: 0, by: [{approver: 'sgt.jones', current: false}]}})
    const before = storeFacts(home)
    refused(home.run(['schedule', created.id, '--at', 'in 2 hours'], {env: author}), 3, /needs 1 approval before it can be scheduled and has 0; the approval by sgt\.jones no longer matches the text, which changed after approval/)
    refused(home.run(['broadcast', created.id], {env: author}), 3, new RegExp(`${created.shortId} \\(Severe\\) needs 1 approval .*has 0`))
    expect(storeFacts(home)).toEqual(before)
    expect(existsSync(join(home.home, 'public', 'cap', `${created.id}.xml`))).toBe(false)
  })

  it('reject --reason returns it to draft with the reason (control characters stripped) and withdraws approvals', () => {
    const created = draft(home, ['Evacuate Glan Conwy.', '--severity', 'Extreme', '--area', 'Glan Conwy', '--expires', '+6h'], {env: author})
    ok(home.run(['approve', created.id], {env: jones}))
    expect(ok(home.run(['reject', created.id, '--reason', 'Wrong \u001b[31mvillage\u001b[0m — it is Glan Conwy Road'], {env: hughes})).stdout).toBe(`Rejected ${created.shortId}: back to draft.\n`)
    const stored = show(home, created.id)
    expect(stored).toMatchObject({state: 'draft', rejectReason: 'Wrong village — it is Glan Conwy Road', approvals: {valid: 0, by: []}})
    expect(ok(home.run(['show', created.id])).stdout).toMatch(/^Rejected: +Wrong village — it is Glan Conwy Road$/m)
    refused(home.run(['reject', created.id]), 2, /reason/)
    refused(home.run(['reject', created.id, '--reason', '  ']), 2, /--reason is required — say what must change/)
    // "Do not send this" holds until the text changes: not approved by a third officer, not
    // scheduled, not sent by the author's override — and every list says it was rejected.
    const rejected = new RegExp(`^Error: cannot (approve|schedule|send) ${created.shortId} — insp\\.hughes rejected it: "Wrong village — it is Glan Conwy Road"; change what the rejection asks \\(crier edit ${created.shortId} …\\), which clears it, then ask again$`)
    const deliveriesBefore = storeFacts(home).deliveries
    refused(home.run(['approve', created.id], {env: jones}), 3, rejected)
    refused(home.run(['schedule', created.id, '--at', 'in 2 hours'], {env: author}), 3, rejected)
    refused(home.run(['broadcast', created.id, '--override', '--reason', 'No second officer reachable'], {env: author}), 3, rejected)
    expect(storeFacts(home).deliveries).toBe(deliveriesBefore)
    expect(ok(home.run(['list'])).stdout).toMatch(new RegExp(`^${created.shortId} +draft +Extreme .*\\[REJECTED\\] Evacuate Glan Conwy\\.$`, 'm'))
    ok(home.run(['edit', created.id, '--area', 'Glan Conwy Road'], {env: author}))
    expect(show(home, created.id).rejectReason).toBeUndefined()
    expect(ok(home.run(['approve', created.id], {env: jones})).stdout).toMatch(/\nApproval by sgt\.jones recorded \(1\/2\)/)
  })

  it('without CRIER_USER the approver is the OS user', () => {
    const created = draft(home, ['Evacuate Rhyl seafront.', '--severity', 'Severe', '--expires', '+6h'], {env: author})
    const approved = jsonOf(ok(home.run(['approve', created.id, '--json'], {env: {CRIER_USER: ''}})))
    expect(approved.approvals).toMatchObject({required: 1, valid: 1})
    expect(show(home, created.id).approvals.by[0].approver).toBe(userInfo().username)
  })
})
