import {afterEach, describe, expect, it} from 'vitest'
import {approveAnnouncement, rejectAnnouncement} from '../../../src/core/approval.js'
import {createDraft, editAnnouncement} from '../../../src/core/drafting.js'
import {PolicyRefusal, UsageError} from '../../../src/core/errors.js'
import {approvalShortfall, approvalStatus, contentHash, requiredApprovals} from '../../../src/core/policy/approvals.js'
import {scheduleAnnouncement} from '../../../src/core/scheduling.js'
import {makeWorld, removeWorld, type World} from '../../helpers/world.js'

// Approvals in process, on a real store: counts per severity, the two-person rule, one approval
// per person, and an approval that stops counting when the text it approved changes.

let world: World | undefined
afterEach(() => {
  if (world) removeWorld(world)
  world = undefined
})

const config = `channels:
  website: { type: feed, dir: ./public }
policy:
  approvals: { default: 0, bySeverity: { Extreme: 2, Severe: 1 }, authorMayApprove: false }
`

function as(w: World, user: string) {
  return {...w.ctx, user}
}

function draftIn(w: World, severity: string) {
  return createDraft(w.ctx, {text: 'Evacuate the caravan park at Towyn.', severity, channels: ['website'], expires: '+6h'})
}

describe('approvals', () => {
  it('counts per severity come from config, with the default for the rest', () => {
    world = makeWorld(config)
    const {policy} = world.config
    expect(['Extreme', 'Severe', 'Moderate', 'Minor', 'Unknown'].map((s) => requiredApprovals(policy, s as never))).toEqual([2, 1, 0, 0, 0])
  })

  it('the author may not approve their own where authorMayApprove is false; two others may', () => {
    world = makeWorld(config)
    const draft = draftIn(world, 'Extreme')
    expect(() => approveAnnouncement(world!.ctx, draft.id)).toThrow(PolicyRefusal)
    expect(() => approveAnnouncement(world!.ctx, draft.id)).toThrow(/officer\.author wrote this announcement and policy needs someone else to approve it/)
    expect(approveAnnouncement(as(world, 'sgt.jones'), draft.id).approvals).toMatchObject({required: 2, satisfied: false})
    expect(world.store.announcements.get(draft.id)!.state).toBe('pending_approval')
    // one approval per person
    expect(() => approveAnnouncement(as(world!, 'sgt.jones'), draft.id)).toThrow(/sgt\.jones has already approved this announcement — policy counts one approval per person/)
    const second = approveAnnouncement(as(world, 'insp.hughes'), draft.id)
    expect(second.approvals).toMatchObject({required: 2, satisfied: true})
    expect(second.approvals.valid.map((a) => a.approver)).toEqual(['sgt.jones', 'insp.hughes'])
    expect(world.store.announcements.get(draft.id)!.state).toBe('approved')
  })

  it('where authorMayApprove is true the author’s approval counts', () => {
    world = makeWorld(config.replace('authorMayApprove: false', 'authorMayApprove: true'))
    const draft = draftIn(world, 'Severe')
    expect(approveAnnouncement(world.ctx, draft.id).approvals).toMatchObject({required: 1, satisfied: true})
  })

  it('stores the hash of the approved content with the approval', () => {
    world = makeWorld(config)
    const draft = draftIn(world, 'Severe')
    approveAnnouncement(as(world, 'sgt.jones'), draft.id)
    expect(world.store.announcements.approvals(draft.id)).toEqual([expect.objectContaining({approver: 'sgt.jones', contentHash: contentHash(draft)})])
  })

  it('an approval stops counting when the text changes behind crier’s back; its approver may approve again', () => {
    world = makeWorld(config)
    const draft = draftIn(world, 'Severe')
    approveAnnouncement(as(world, 'sgt.jones'), draft.id)
    // the stored text changes without crier edit (another tool, a restore, a hand edit)
    const variants = JSON.stringify([{language: 'en', headline: 'Evacuate Towyn', description: 'Evacuate Towyn and Kinmel Bay.'}])
    world.store.db.prepare('UPDATE announcement SET variants_json = ? WHERE id = ?').run(variants, draft.id)
    const changed = world.store.announcements.get(draft.id)!
    const status = approvalStatus(changed, world.store.announcements.approvals(draft.id), world.config.policy)
    expect(status).toMatchObject({required: 1, satisfied: false, valid: [], stale: [expect.objectContaining({approver: 'sgt.jones'})]})
    expect(approvalShortfall(changed, status, 'be sent')).toMatch(/^\w{12} \(Severe\) needs 1 approval before it can be sent and has 0; the approval by sgt\.jones no longer matches the text, which changed after approval — ask another officer to run crier approve \w{12}$/)
    // scheduling (and sending) checks the hash, not just that an approval row exists
    expect(() => scheduleAnnouncement(world!.ctx, draft.id, {at: 'in 2 hours'})).toThrow(/needs 1 approval before it can be scheduled and has 0; the approval by sgt\.jones no longer matches the text/)
    // the same officer approves the new text: the stale row is replaced, not duplicated
    world.store.announcements.setState(draft.id, 'pending_approval', Date.now())
    expect(approveAnnouncement(as(world, 'sgt.jones'), draft.id).approvals).toMatchObject({satisfied: true})
    expect(world.store.announcements.approvals(draft.id)).toEqual([expect.objectContaining({approver: 'sgt.jones', contentHash: contentHash(changed)})])
  })

  it('crier edit withdraws approvals: the approvers approved the old text', () => {
    world = makeWorld(config)
    const draft = draftIn(world, 'Severe')
    approveAnnouncement(as(world, 'sgt.jones'), draft.id)
    const {announcement, withdrawnApprovals} = editAnnouncement(world.ctx, draft.id, {area: 'Towyn and Kinmel Bay'})
    expect(withdrawnApprovals).toBe(1)
    expect(announcement.state).toBe('pending_approval')
    expect(approvalStatus(announcement, world.store.announcements.approvals(draft.id), world.config.policy)).toMatchObject({valid: [], satisfied: false})
  })

  it('reject returns it to draft with the reason, stripped of control characters, and withdraws approvals', () => {
    world = makeWorld(config)
    const draft = draftIn(world, 'Extreme')
    approveAnnouncement(as(world, 'sgt.jones'), draft.id)
    const rejected = rejectAnnouncement(as(world, 'insp.hughes'), draft.id, '  Wrong \u001b[31mjunction\u001b[0m\nnumbers\u0007 ')
    expect(rejected).toMatchObject({state: 'draft', rejectReason: 'Wrong junction numbers'})
    expect(world.store.announcements.get(draft.id)).toMatchObject({state: 'draft', rejectReason: 'Wrong junction numbers'})
    expect(world.store.announcements.approvals(draft.id)).toEqual([])
    expect(() => rejectAnnouncement(world!.ctx, draft.id, ' \u001b[0m ')).toThrow(UsageError)
    // The author's correction goes back to the approvers.
    expect(editAnnouncement(world.ctx, draft.id, {text: 'Corrected junction numbers.'}).announcement).toMatchObject({state: 'pending_approval', rejectReason: undefined})
  })
})
