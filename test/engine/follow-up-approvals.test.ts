import {afterEach, describe, expect, it} from 'vitest'
import {approvalsOf, approveAnnouncement} from '../../src/core/approval.js'
import {createDraft} from '../../src/core/drafting.js'
import {PolicyRefusal} from '../../src/core/errors.js'
import {draftUpdate} from '../../src/core/follow-up.js'
import {shortId} from '../../src/core/ids.js'
import {previewAnnouncement} from '../../src/core/preview.js'
import {fanOut} from '../../src/engine/fan-out.js'
import {makeWorld, removeWorld, type World} from '../helpers/world.js'

// An Update needs the approvals of the gravest message it follows up: one officer alone must not
// lift an Extreme evacuation order by typing --severity Minor on the all-clear.

let world: World | undefined
afterEach(() => {
  if (world) removeWorld(world)
  world = undefined
})

const config = (override: boolean) =>
  `channels:\n  website: {type: feed, dir: ./public}\npolicy:\n  approvals: {default: 0, bySeverity: {Extreme: 2, Severe: 1}, authorMayApprove: false}\n  emergencyOverride: {allowed: ${override}}\n`

function sentEvacuation(w: World): string {
  const ctx = {...w.ctx, user: 'pc.davies'}
  const order = createDraft(ctx, {text: 'Leave now.', headline: 'EVACUATE riverside', severity: 'Extreme', channels: ['website']})
  approveAnnouncement({...w.ctx, user: 'sgt.jones'}, order.id)
  approveAnnouncement({...w.ctx, user: 'insp.roberts'}, order.id)
  fanOut(ctx, order.id)
  w.store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ?`).run(order.id)
  return order.id
}

describe('an Update of an Extreme alert, typed Minor', () => {
  it('needs the Extreme alert’s approvals, and says why', () => {
    world = makeWorld(config(false))
    const order = sentEvacuation(world)
    const ctx = {...world.ctx, user: 'pc.davies'}
    const allClear = draftUpdate(ctx, order, {text: 'You may return home now.', headline: 'ALL CLEAR: return home', severity: 'Minor', channels: ['website']})
    expect(approvalsOf(world.ctx, allClear)).toMatchObject({required: 2, satisfied: false, followsUp: {id: order, severity: 'Extreme'}})
    expect(previewAnnouncement(ctx, allClear).approvals).toMatchObject({required: 2, satisfied: false})
    expect(() => fanOut(ctx, allClear.id)).toThrow(PolicyRefusal)
    expect(() => fanOut(ctx, allClear.id)).toThrow(`${shortId(allClear.id)} (Minor, following up Extreme ${shortId(order)}) needs 2 approvals before it can be sent and has 0`)
    expect(world.store.deliveries.countsByChannel(allClear.id)).toEqual([])

    approveAnnouncement({...world.ctx, user: 'sgt.jones'}, allClear.id)
    approveAnnouncement({...world.ctx, user: 'insp.roberts'}, allClear.id)
    expect(fanOut(ctx, allClear.id).queued).toBe(1)
  })

  it('may go by emergency override where policy allows it, as the alert could', () => {
    world = makeWorld(config(true))
    const order = sentEvacuation(world)
    const ctx = {...world.ctx, user: 'pc.davies'}
    const allClear = draftUpdate(ctx, order, {text: 'You may return home now.', headline: 'ALL CLEAR: return home', severity: 'Minor', channels: ['website']})
    expect(() => fanOut(ctx, allClear.id)).toThrow(/--override --reason/)
    const sent = fanOut(ctx, allClear.id, {override: {reason: 'the river has fallen; people are waiting in the cold'}})
    expect(sent).toMatchObject({overridden: true, queued: 1})
  })

  it('a Minor follow-up of a Minor message still needs none', () => {
    world = makeWorld(config(false))
    const ctx = {...world.ctx, user: 'pc.davies'}
    const notice = createDraft(ctx, {text: 'Bins on Tuesday.', severity: 'Minor', channels: ['website']})
    fanOut(ctx, notice.id)
    world.store.db.prepare(`UPDATE delivery SET state = 'sent' WHERE announcement_id = ?`).run(notice.id)
    const update = draftUpdate(ctx, notice.id, {text: 'Bins on Wednesday.', severity: 'Minor', channels: ['website']})
    expect(approvalsOf(world.ctx, update)).toEqual({required: 0, valid: [], stale: [], satisfied: true, authorMayApprove: false})
    expect(fanOut(ctx, update.id).queued).toBe(1)
  })
})
