import {describe, expect, it} from 'vitest'
import {actingUser, osUserName} from '../../src/config/user.js'

describe('who is acting', () => {
  it('is CRIER_USER as one line with no control sequences — it is printed, stored and compared', () => {
    expect(actingUser({CRIER_USER: ' sgt.jones '})).toBe('sgt.jones')
    expect(actingUser({CRIER_USER: 'sgt.\u001b[2J\u001b]0;owned\u0007jones\n'})).toBe('sgt.jones')
  })

  it('is the OS user when CRIER_USER is unset, blank or nothing but control characters', () => {
    for (const CRIER_USER of [undefined, '', '   ', '\u001b[2J']) expect(actingUser({CRIER_USER})).toBe(osUserName())
  })
})
