import {describe, expect, it} from 'vitest'
import {approvalsWanted} from '../../src/views/approval-wanted.js'

const approval = (approver: string) => ({announcementId: 'A1', approver, contentHash: 'h', approvedAt: 0})

describe('who must still approve, in words', () => {
  it('names everyone who may not: the author and those who approved already', () => {
    expect(approvalsWanted({author: 'insp.evans'}, {required: 2, valid: [], authorMayApprove: false})).toBe('2, by officers other than insp.evans (one each)')
    expect(approvalsWanted({author: 'insp.evans'}, {required: 2, valid: [approval('sgt.jones')], authorMayApprove: false})).toBe('1 more, by an officer other than insp.evans and sgt.jones')
    expect(approvalsWanted({author: 'insp.evans'}, {required: 3, valid: [approval('sgt.jones'), approval('pc.owen')], authorMayApprove: false})).toBe('1 more, by an officer other than insp.evans, sgt.jones and pc.owen')
  })

  it('leaves the author out where policy lets them approve their own', () => {
    expect(approvalsWanted({author: 'insp.evans'}, {required: 1, valid: [], authorMayApprove: true})).toBe('1, by an officer')
    expect(approvalsWanted({author: 'insp.evans'}, {required: 2, valid: [approval('insp.evans')], authorMayApprove: true})).toBe('1 more, by an officer other than insp.evans')
  })

  it('names those who edited it too, where policy keeps writers from approving', () => {
    expect(approvalsWanted({author: 'pc.author'}, {required: 2, valid: [approval('sgt.a')], authorMayApprove: false, editors: ['sgt.b']})).toBe('1 more, by an officer other than pc.author, sgt.b and sgt.a')
    expect(approvalsWanted({author: 'pc.author'}, {required: 1, valid: [], authorMayApprove: true, editors: ['sgt.b']})).toBe('1, by an officer')
  })
})
