import {describe, expect, it} from 'vitest'
import {lifecycleStates, type LifecycleState} from '../../src/core/announcement.js'
import {ExitCode, PolicyRefusal} from '../../src/core/errors.js'
import {canTransition, finalStates, transition, type LifecycleEvent} from '../../src/core/lifecycle.js'

// The lifecycle of DESIGN.md: draft → pending_approval → approved → scheduled → sending →
// sent | sent_with_failures | cancelled | expired. Editing approved text withdraws the approvals
// (back to pending_approval); once scheduled or sending, only update or cancel change it.

const events: LifecycleEvent[] = ['edit', 'approve', 'approve-partially', 'reject', 'schedule', 'unschedule', 'start-sending', 'finish', 'finish-with-failures', 'cancel', 'expire', 'retry']

/** Every legal move, written out from the design; everything not listed is illegal. */
const legal: Record<LifecycleState, Partial<Record<LifecycleEvent, LifecycleState>>> = {
  draft: {
    edit: 'draft',
    // A reviewer sends a draft that waits for their approval back with a reason.
    reject: 'draft',
    approve: 'approved',
    'approve-partially': 'pending_approval',
    'start-sending': 'sending',
    schedule: 'scheduled',
    cancel: 'cancelled',
    expire: 'expired',
  },
  pending_approval: {
    edit: 'pending_approval',
    approve: 'approved',
    'approve-partially': 'pending_approval',
    reject: 'draft',
    'start-sending': 'sending',
    schedule: 'scheduled',
    cancel: 'cancelled',
    expire: 'expired',
  },
  approved: {
    edit: 'pending_approval',
    reject: 'draft',
    'start-sending': 'sending',
    schedule: 'scheduled',
    cancel: 'cancelled',
    expire: 'expired',
  },
  scheduled: {unschedule: 'approved', 'start-sending': 'sending', cancel: 'cancelled', expire: 'expired'},
  sending: {finish: 'sent', 'finish-with-failures': 'sent_with_failures', cancel: 'cancelled', expire: 'expired'},
  sent: {},
  sent_with_failures: {retry: 'sending'},
  cancelled: {},
  expired: {},
}

function refusal(from: LifecycleState, event: LifecycleEvent, id?: string): PolicyRefusal {
  try {
    transition(from, event, id)
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyRefusal)
    return error as PolicyRefusal
  }
  throw new Error(`${event} from ${from} was allowed`)
}

describe('lifecycle: legal transitions', () => {
  for (const from of lifecycleStates) {
    for (const [event, to] of Object.entries(legal[from]) as Array<[LifecycleEvent, LifecycleState]>) {
      it(`${from} --${event}--> ${to}`, () => {
        expect(canTransition(from, event)).toBe(true)
        expect(transition(from, event, '01JD5X0000AB')).toBe(to)
      })
    }
  }

  it('editing an approved announcement returns it to pending_approval (the approvals are withdrawn)', () => {
    expect(transition('approved', 'edit')).toBe('pending_approval')
  })

  it('the final states are exactly sent, sent_with_failures, cancelled and expired, and nothing leaves them but a retry of the dead', () => {
    expect([...finalStates].sort()).toEqual(['cancelled', 'expired', 'sent', 'sent_with_failures'])
    for (const state of finalStates) for (const event of events) expect(canTransition(state, event)).toBe(state === 'sent_with_failures' && event === 'retry')
    expect(transition('sent_with_failures', 'retry')).toBe('sending')
  })
})

describe('lifecycle: illegal transitions are refused with exit 3 and a reason', () => {
  for (const from of lifecycleStates) {
    for (const event of events) {
      if (legal[from][event] !== undefined) continue
      it(`${from} --${event}--> refused`, () => {
        expect(canTransition(from, event)).toBe(false)
        const error = refusal(from, event, '01JD5X0000AB')
        expect(error.exitCode).toBe(ExitCode.refused)
        expect(error.exitCode).toBe(3)
        expect(error.message).toMatch(/^cannot [\w ]+? 01JD5X0000AB — \S/)
        expect(error.message).not.toContain('  ')
      })
    }
  }

  const reasons: Array<[LifecycleState, LifecycleEvent, RegExp]> = [
    ['sent', 'approve', /^cannot approve 01JD5X0000AB — it has been sent — use crier update or crier cancel$/],
    ['sent', 'edit', /^cannot edit .*— it has been sent — use crier update or crier cancel$/],
    ['sent_with_failures', 'edit', /it has been sent — use crier update or crier cancel$/],
    ['sending', 'edit', /it is being sent — use crier update or crier cancel$/],
    ['scheduled', 'edit', /it is scheduled — unschedule it first \(crier unschedule\), or crier cancel it$/],
    ['scheduled', 'approve', /^cannot approve .*it is scheduled/],
    ['cancelled', 'start-sending', /^cannot broadcast .*it was cancelled — for what is true now, draft a new announcement \(crier draft …\)$/],
    ['expired', 'schedule', /^cannot schedule .*it has expired — for what is true now, draft a new announcement \(crier draft …\)$/],
    ['approved', 'approve', /^cannot approve .*it is approved already — crier broadcast or crier schedule it$/],
    ['sent', 'reject', /^cannot reject .*it has been sent/],
    ['sending', 'start-sending', /^cannot broadcast .*it is being sent/],
  ]
  for (const [from, event, reason] of reasons) {
    it(`says why: ${event} from ${from}`, () => {
      expect(refusal(from, event, '01JD5X0000AB').message).toMatch(reason)
    })
  }

  it('words the refusal without an id too', () => {
    const error = refusal('sent', 'approve')
    expect(error.message).toBe('cannot approve — it has been sent — use crier update or crier cancel')
  })

  it('names a multi-word state in words', () => {
    expect(refusal('pending_approval', 'finish', 'X').message).toContain('it is pending approval')
  })
})
